"""Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>`, sent as `X-Gazette-Signature: sha256=<hex>`.

A receiver recomputes it with the secret it was given when the webhook was added, compares in
constant time, and refuses timestamps older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Gazette-Signature"
TIMESTAMP_HEADER = "X-Gazette-Timestamp"
EVENT_HEADER = "X-Gazette-Event"
DELIVERY_HEADER = "X-Gazette-Delivery"


def sign(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: str, signature: str, *, now: float, tolerance: float = 300) -> bool:
    """True when `signature` is ours for this body and the timestamp is recent."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)
