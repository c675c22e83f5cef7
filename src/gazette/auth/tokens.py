"""Gazette token format: `gzt_` + 30 random base62 characters + a 6-character base62 CRC32.

Like GitHub's tokens: the prefix lets secret scanners recognise a leaked token offline, and
the checksum rejects typos before any database lookup. Only the SHA-256 of a token is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import zlib

PREFIX = "gzt_"
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6
VISIBLE_LENGTH = len(PREFIX) + 8  # what `auth list` shows: gzt_ plus 8 characters
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SHAPE = re.compile(rf"^{PREFIX}[0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}}$")


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def mint() -> str:
    """A new random token."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return f"{PREFIX}{body}{_checksum(body)}"


def well_formed(token: str) -> bool:
    """True when `token` has the shape and a valid checksum (no lookup needed)."""
    if not _SHAPE.match(token):
        return False
    body = token[len(PREFIX) : len(PREFIX) + RANDOM_LENGTH]
    return secrets.compare_digest(token[-CHECKSUM_LENGTH:], _checksum(body))


def digest(secret: str) -> str:
    """SHA-256 hex of a token or secret: the only form stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def visible_prefix(token: str) -> str:
    return token[:VISIBLE_LENGTH]
