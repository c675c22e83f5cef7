"""Masking of anything that looks like a credential, before text leaves Gazette.

Used by the log processor, `config show`, the dialog memory (every captured and imported turn) and the
training export, which can also `anonymize_text`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

# Keys whose values are secrets whatever they look like.
_SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|apikey|authorization|^auth$|credential|private[_-]?key|cookie)",
    re.IGNORECASE,
)

# Each pattern with the case-folded substrings one of which any match contains: a pattern whose hints
# are all absent is not run (a 300-character turn went from ~200 µs to a few).
_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    # PEM private keys, whole block; a paste cut before its END line loses everything base64 after BEGIN.
    (
        ("private key",),
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s]*)", re.DOTALL
        ),
    ),
    # Authorization headers and bearer tokens.
    (("bearer ",), re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=-]{8,}")),
    # Well-known token formats: Gazette, GitHub, OpenAI/Anthropic/DeepSeek, Slack, AWS, Google.
    (("gzt_",), re.compile(r"\bgzt_[A-Za-z0-9]{10,}\b")),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b")),
    (("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b")),
    (("sk-",), re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}\b")),
    (("xox",), re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b")),
    (("akia",), re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    (("aiza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    # JWTs.
    (("eyj",), re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b")),
)
_ASSIGNMENT_HINTS = ("pass", "secret", "token", "apikey", "api_key", "api-key")
# user:password@ in URLs: keep the user, hide the password.
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)(?=@)")
# key=value / key: value pairs whose key names a secret.
_ASSIGNMENT = re.compile(
    r"(?i)\b(?P<key>[\w-]*(?:password|passwd|secret|token|api[_-]?key|apikey)[\w-]*)"
    r"(?P<sep>\s*[=:]\s*)(?P<quote>[\"']?)(?P<value>[^\s\"',;&]+)"
)


def redact_text(text: str) -> str:
    """Return `text` with credentials replaced by `***`."""
    if not text:
        return text
    lowered = text.casefold()  # as (?i) folds: "ſecret" must still run the secret= rule
    if "://" in lowered:
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    if any(hint in lowered for hint in _ASSIGNMENT_HINTS):
        text = _ASSIGNMENT.sub(lambda m: f"{m.group('key')}{m.group('sep')}{m.group('quote')}{MASK}", text)
    for hints, pattern in _PATTERNS:
        if any(hint in lowered for hint in hints):
            text = pattern.sub(MASK, text)
    return text


# Anonymizing: who and where, beyond the credentials `redact_text` hides.
EMAIL_MASK = "<email>"
IP_MASK = "<ip>"
USER_MASK = "<user>"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Not inside a longer dotted number: 1.2.3.4.5 is a version, not an address.
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
_HOME = re.compile(r"(?P<head>/home/|/Users/|\b[A-Za-z]:\\Users\\)(?P<user>[^/\\\s\"'`]+)")


def anonymize_text(text: str) -> str:
    """Return `text` redacted (`redact_text`) with e-mail addresses, IPv4 addresses and the user names
    of home directories masked: `ada@example.org` → `<email>`, `10.0.0.7` → `<ip>`,
    `/home/ada/src` → `/home/<user>/src` (also `/Users/ada`, `C:\\Users\\ada`). Idempotent.
    """
    if not text:
        return text
    text = redact_text(text)
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _IPV4.sub(IP_MASK, text)
    return _HOME.sub(lambda m: m.group("head") + USER_MASK, text)


def is_secret_key(key: str) -> bool:
    """True when a mapping key names a secret (`api_key`, `password`, `Authorization`...)."""
    return bool(_SECRET_KEY.search(key))


def redact_value(key: str, value: Any) -> Any:
    """Redact one value, masking it whole when its key names a secret."""
    if isinstance(value, Mapping):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    if is_secret_key(key):
        return MASK
    return redact_text(str(value)) if isinstance(value, str) else value


__all__ = ["MASK", "anonymize_text", "is_secret_key", "redact_text", "redact_value"]
