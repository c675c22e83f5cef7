"""JWTs from an identity provider: HS256 with a secret, RS256/ES256/EdDSA with a JWKS file."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi.testclient import TestClient

from gazette.api import create_app
from gazette.app import Gazette
from gazette.settings import load_settings

SECRET = "a-shared-secret-of-at-least-32-bytes!!"
ISSUER = "https://idp.example"
AUDIENCE = "gazette"

PRIVATE_KEYS: dict[str, Any] = {
    "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate(),
}


def jwks_document() -> dict[str, Any]:
    keys = []
    for algorithm, private in PRIVATE_KEYS.items():
        jwk = json.loads(jwt.get_algorithm_by_name(algorithm).to_jwk(private.public_key()))
        keys.append({**jwk, "kid": f"key-{algorithm}", "alg": algorithm})
    return {"keys": keys}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "ada",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "role": "personal",
        "scope": "memory:read models:use",
    }
    return {key: value for key, value in {**base, **overrides}.items() if value is not None}


def hs256(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


@pytest.fixture
def gz(home: Path, tmp_path: Path) -> Iterator[Gazette]:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(jwks_document()))
    settings = load_settings(
        jwt={"secret": SECRET, "jwks_file": str(jwks), "issuer": ISSUER, "audience": AUDIENCE}
    ).settings
    gazette = Gazette(settings)
    yield gazette
    gazette.close()


def whoami(gz: Gazette, token: str) -> Any:
    with TestClient(create_app(gz)) as client:
        return client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"})


def test_a_valid_hs256_jwt_maps_its_claims_to_the_principal(gz: Gazette) -> None:
    response = whoami(gz, hs256(role="admin", workspace="default"))
    assert response.status_code == 200
    body = response.json()
    assert (body["user"], body["role"], body["kind"], body["workspace"]) == ("ada", "admin", "jwt", "default")
    assert sorted(body["scopes"]) == ["memory:read", "models:use"]


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_asymmetric_jwts_verify_with_the_jwks_key_they_name(gz: Gazette, algorithm: str) -> None:
    token = jwt.encode(claims(), PRIVATE_KEYS[algorithm], algorithm=algorithm, headers={"kid": f"key-{algorithm}"})
    assert gz.authenticator.authenticate({"authorization": f"Bearer {token}"}.get).user == "ada"


def _none_alg() -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims())}."


def _hs256_signed_with_the_public_key() -> str:
    # The classic confusion attack: an HMAC keyed with the RSA public key. Never accepted.
    from cryptography.hazmat.primitives import serialization

    public = (
        PRIVATE_KEYS["RS256"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(public, header + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
    return (header + b"." + body + b"." + signature).decode()


BAD_TOKENS: dict[str, tuple[Callable[[], str], str]] = {
    "wrong signature": (
        lambda: jwt.encode(claims(), "another-secret-of-at-least-32-bytes!", algorithm="HS256"),
        "invalid",
    ),
    "wrong audience": (lambda: hs256(aud="someone-else"), "audience"),
    "wrong issuer": (lambda: hs256(iss="https://evil.example"), "issuer"),
    "expired": (lambda: hs256(exp=int(time.time()) - 3600), "expired"),
    "not yet valid": (lambda: hs256(nbf=int(time.time()) + 3600), "not_yet_valid"),
    "no expiry": (lambda: hs256(exp=None), "invalid"),
    "alg none": (_none_alg, "algorithm"),
    "unknown kid": (
        lambda: jwt.encode(claims(), PRIVATE_KEYS["ES256"], algorithm="ES256", headers={"kid": "stranger"}),
        "unknown_key",
    ),
    "public key as HMAC secret": (_hs256_signed_with_the_public_key, "invalid"),
    "unknown role": (lambda: hs256(role="root"), "claims"),
}


@pytest.mark.parametrize("case", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_bad_jwts_are_401_with_a_reason_and_an_audit_entry(gz: Gazette, case: tuple[Callable[[], str], str]) -> None:
    make, reason = case
    response = whoami(gz, make())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.json()["error"]["details"]["reason"] == reason
    [failure] = gz.audit.list_entries(gz.local_owner(), event="auth.failure")
    assert failure.outcome == reason


def test_jwts_are_refused_when_no_identity_provider_is_configured(home: Path) -> None:
    plain = Gazette.from_settings()
    response = whoami(plain, hs256())
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "jwt_disabled"
