"""Access capability: tokens, principals, scopes."""

from gazette.auth.authenticator import Authenticator
from gazette.auth.models import SCOPES, MintedToken, Principal, Role, TokenInfo
from gazette.auth.service import Auth, require_scope, require_workspace

__all__ = [
    "SCOPES",
    "Auth",
    "Authenticator",
    "MintedToken",
    "Principal",
    "Role",
    "TokenInfo",
    "require_scope",
    "require_workspace",
]
