"""Redaction invariants, checked with generated inputs."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from gazette.redaction import MASK, redact_text, redact_value

token_chars = st.text(alphabet=string.ascii_letters + string.digits, min_size=20, max_size=40)
words = st.text(alphabet=string.ascii_lowercase + " ", max_size=40)


@given(prefix=words, secret=token_chars, suffix=words)
def test_known_token_formats_are_masked_wherever_they_appear(prefix: str, secret: str, suffix: str) -> None:
    for token in (f"gzt_{secret}", f"ghp_{secret}", f"sk-{secret}", f"sk-ant-{secret}"):
        redacted = redact_text(f"{prefix} {token} {suffix}")
        assert token not in redacted
        assert MASK in redacted


@given(user=st.from_regex(r"[a-z]{1,10}", fullmatch=True), password=st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True))
def test_url_passwords_are_masked_and_the_user_kept(user: str, password: str) -> None:
    redacted = redact_text(f"postgresql://{user}:{password}@db.internal:5432/gazette")
    assert redacted == f"postgresql://{user}:{MASK}@db.internal:5432/gazette"


@given(text=st.text(alphabet=string.ascii_lowercase + " .,", max_size=200))
def test_plain_prose_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


@given(text=st.text(max_size=200))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


def test_values_under_secret_keys_are_masked_whole() -> None:
    assert redact_value("api_key", "anything") == MASK
    assert redact_value("Authorization", "Basic xyz") == MASK
    assert redact_value("author", "Ada") == "Ada"
    assert redact_value("config", {"db": {"password": "p"}, "port": 5432}) == {"db": {"password": MASK}, "port": 5432}


@given(
    body=st.lists(st.text(alphabet=string.ascii_letters + string.digits + "+/", min_size=8, max_size=64), min_size=1)
)
def test_private_keys_are_masked_whole_even_when_the_end_line_is_missing(body: list[str]) -> None:
    lines = "\n".join(body)
    whole = f"key:\n-----BEGIN OPENSSH PRIVATE KEY-----\n{lines}\n-----END OPENSSH PRIVATE KEY-----\nthanks"
    cut = f"key:\n-----BEGIN RSA PRIVATE KEY-----\n{lines}"
    assert redact_text(whole) == f"key:\n{MASK}\nthanks"
    assert redact_text(cut) == f"key:\n{MASK}"
