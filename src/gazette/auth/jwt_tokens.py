"""JWTs from an identity provider: signature, issuer, audience, expiry and not-before checked.

HS256 tokens verify with `jwt.secret`; RS256, ES256 and EdDSA tokens with the key their `kid`
names in `jwt.jwks_file`. Each algorithm only ever uses its own kind of key, and `alg: none` is
never accepted.
"""

from __future__ import annotations

import json
from typing import Any

import jwt

from gazette.auth.models import Principal, Role
from gazette.errors import AuthenticationError, ConfigError
from gazette.settings import JwtSettings

SYMMETRIC = ("HS256",)
ASYMMETRIC = ("RS256", "ES256", "EdDSA")


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


class JwtVerifier:
    def __init__(self, settings: JwtSettings, default_workspace: str) -> None:
        self._settings = settings
        self._default_workspace = default_workspace
        self._keys: dict[str, Any] | None = None

    @property
    def enabled(self) -> bool:
        return self._settings.secret is not None or self._settings.jwks_file is not None

    def verify(self, token: str) -> Principal:
        """Resolve a JWT to its principal.

        Raises:
            AuthenticationError: bad signature, algorithm, issuer, audience, expiry or claims.
        """
        if not self.enabled:
            raise AuthenticationError(
                "JWTs are not accepted here: configure GAZETTE_JWT__SECRET or GAZETTE_JWT__JWKS_FILE",
                details={"reason": "jwt_disabled"},
            )
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refused(f"malformed JWT: {exc}", "malformed") from None
        algorithm = header.get("alg")
        key = self._key_for(algorithm, header.get("kid"))
        options = {"require": ["exp"], "verify_aud": self._settings.audience is not None}
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_seconds,
                options=options,  # type: ignore[arg-type]
            )
        except jwt.ExpiredSignatureError:
            raise _refused("JWT expired", "expired") from None
        except jwt.ImmatureSignatureError:
            raise _refused("JWT not valid yet (nbf)", "not_yet_valid") from None
        except jwt.InvalidAudienceError:
            raise _refused("JWT audience does not match", "audience") from None
        except jwt.InvalidIssuerError:
            raise _refused("JWT issuer does not match", "issuer") from None
        except jwt.PyJWTError as exc:
            raise _refused(f"JWT refused: {exc}", "invalid") from None
        return self._principal(claims)

    def _key_for(self, algorithm: Any, kid: Any) -> Any:
        if algorithm in SYMMETRIC:
            if self._settings.secret is None:
                raise _refused(f"{algorithm} JWTs are not accepted: no shared secret configured", "algorithm")
            return self._settings.secret.get_secret_value()
        if algorithm in ASYMMETRIC:
            keys = self._jwks()
            if kid not in keys:
                raise _refused(f"JWT signed with unknown key id {kid!r}", "unknown_key")
            return keys[kid]
        raise _refused(f"JWT algorithm {algorithm!r} is not accepted", "algorithm")

    def _jwks(self) -> dict[str, Any]:
        if self._keys is None:
            path = self._settings.jwks_file
            if path is None:
                raise _refused("asymmetric JWTs are not accepted: no JWKS file configured", "algorithm")
            try:
                document = json.loads(path.read_text())
                self._keys = {key["kid"]: jwt.PyJWK.from_dict(key).key for key in document["keys"]}
            except (OSError, ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
                raise ConfigError(f"cannot read the JWKS file {path}: {exc}") from None
        return self._keys

    def _principal(self, claims: dict[str, Any]) -> Principal:
        settings = self._settings
        user = claims.get(settings.user_claim)
        if not isinstance(user, str) or not user:
            raise _refused(f"JWT has no {settings.user_claim!r} claim", "claims")
        raw_role = claims.get(settings.role_claim, Role.personal.value)
        try:
            role = Role(raw_role)
        except ValueError:
            raise _refused(f"JWT role {raw_role!r} is not one of personal, admin, cos_internal", "claims") from None
        raw_scopes = claims.get(settings.scopes_claim, "")
        scopes = raw_scopes.split() if isinstance(raw_scopes, str) else list(raw_scopes or [])
        workspace = claims.get(settings.workspace_claim) or self._default_workspace
        return Principal(user=user, workspace=str(workspace), role=role, scopes=frozenset(scopes), kind="jwt")


def _refused(message: str, reason: str) -> AuthenticationError:
    return AuthenticationError(message, details={"reason": reason})
