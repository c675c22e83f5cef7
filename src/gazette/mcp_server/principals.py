"""Who is calling an MCP tool: the local owner on stdio, the authenticated caller over HTTP."""

from __future__ import annotations

from typing import Any, Literal

from gazette.app import Gazette
from gazette.auth import Principal
from gazette.errors import AuthenticationError

Transport = Literal["stdio", "http"]
PRINCIPAL_SCOPE_KEY = "gazette.principal"


class PrincipalResolver:
    def __init__(self, gz: Gazette, transport: Transport) -> None:
        self._gz = gz
        self._transport = transport

    def __call__(self, ctx: Any) -> Principal:
        """The principal of the tool call `ctx` belongs to.

        Raises:
            AuthenticationError: over HTTP, when the request carried no authenticated principal.
        """
        if self._transport == "stdio":
            return self._gz.local_owner()
        request = ctx.request_context.request
        principal = request.scope.get(PRINCIPAL_SCOPE_KEY) if request is not None else None
        if not isinstance(principal, Principal):
            # The endpoint's guard sets it; reaching here means the tool was called some other way.
            raise AuthenticationError("missing credential for this MCP session")
        return principal
