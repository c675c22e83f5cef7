"""Rate-limit headers: the GitHub-style `X-RateLimit-*` and the IETF `RateLimit-Policy` / `RateLimit`."""

from __future__ import annotations

import time
from collections.abc import Sequence

from gazette.auth.ratelimit import Quota


def rate_limit_headers(quotas: Sequence[Quota]) -> list[tuple[bytes, bytes]]:
    """Headers for every quota the request counted against; `X-RateLimit-*` and `RateLimit`
    describe the tightest one (fewest requests left)."""
    tightest = min(quotas, key=lambda quota: (quota.remaining, -quota.reset_seconds))
    policy = ", ".join(f'"{q.name}";q={q.limit};w={q.window_seconds}' for q in quotas)
    values = {
        "x-ratelimit-limit": str(tightest.limit),
        "x-ratelimit-remaining": str(tightest.remaining),
        "x-ratelimit-reset": str(int(time.time()) + tightest.reset_seconds),
        "x-ratelimit-resource": tightest.name,
        "ratelimit-policy": policy,
        "ratelimit": f'"{tightest.name}";r={tightest.remaining};t={tightest.reset_seconds}',
    }
    return [(name.encode(), value.encode()) for name, value in values.items()]
