"""Redaction invariants, checked with generated inputs."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from gazette.redaction import EMAIL_MASK, IP_MASK, MASK, USER_MASK, anonymize_text, redact_text, redact_value

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


# --------------------------------------------------------------------------- anonymize_text

local_parts = st.from_regex(r"[a-z][a-z0-9._+-]{0,15}", fullmatch=True)
domains = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,2}\.[a-z]{2,6}", fullmatch=True)
octets = st.integers(min_value=0, max_value=255)
users = st.from_regex(r"[a-z][a-z0-9._-]{0,15}", fullmatch=True)


@given(prefix=words, local=local_parts, domain=domains, suffix=words)
def test_anonymize_masks_every_email_address(prefix: str, local: str, domain: str, suffix: str) -> None:
    address = f"{local}@{domain}"
    masked = anonymize_text(f"{prefix} {address} {suffix}")
    assert address not in masked
    assert EMAIL_MASK in masked


@given(prefix=words, parts=st.tuples(octets, octets, octets, octets), suffix=words)
def test_anonymize_masks_every_ipv4_address(prefix: str, parts: tuple[int, int, int, int], suffix: str) -> None:
    address = ".".join(map(str, parts))
    masked = anonymize_text(f"{prefix} ({address}) {suffix}")
    assert masked == f"{anonymize_text(prefix)} ({IP_MASK}) {anonymize_text(suffix)}"


@given(
    home=st.sampled_from(["/home/", "/Users/"]), user=users, rest=st.from_regex(r"(/[a-z]{1,8}){0,3}", fullmatch=True)
)
def test_anonymize_hides_the_user_of_a_home_directory_and_keeps_the_rest_of_the_path(
    home: str, user: str, rest: str
) -> None:
    assert anonymize_text(f"cd {home}{user}{rest} now") == f"cd {home}{USER_MASK}{rest} now"


@given(text=st.text(max_size=200))
def test_anonymize_is_idempotent_and_redacts_first(text: str) -> None:
    once = anonymize_text(text)
    assert anonymize_text(once) == once
    assert anonymize_text(f"{text} sk-proj-{'a' * 24}").endswith(MASK)


# No "b": "bearer <token>" is a credential to redact_text.
@given(text=st.text(alphabet=string.ascii_lowercase.replace("b", "") + " ,;!?\n", max_size=200))
def test_anonymize_leaves_prose_without_addresses_or_paths_alone(text: str) -> None:
    assert anonymize_text(text) == text


def test_a_dotted_version_is_not_taken_for_an_ip_address() -> None:
    assert anonymize_text("pip 24.0.1.2.3 and 1.2.3.4.5") == "pip 24.0.1.2.3 and 1.2.3.4.5"
