"""Access capability: tokens, principals, scopes."""

from gazette.auth.models import SCOPES, MintedToken, Principal, Role, TokenInfo
from gazette.auth.service import Auth, require_scope

__all__ = ["SCOPES", "Auth", "MintedToken", "Principal", "Role", "TokenInfo", "require_scope"]
