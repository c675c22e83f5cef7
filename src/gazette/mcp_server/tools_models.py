"""MCP tool of the dialog memory: ask_model, a thin adapter over `gz.dialogs.ask`."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from gazette.app import Gazette
from gazette.dialogs import Usage, final_answer
from gazette.mcp_server.errors import tool_call
from gazette.mcp_server.principals import PrincipalResolver

# It records the dialog (not read-only) and reaches a model outside Gazette (open world).
ASKS_A_MODEL = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)


class ModelAnswer(BaseModel):
    route: str = Field(description="The model name asked for (or the default route).")
    provider: str
    model: str = Field(description="provider:model that answered.")
    text: str = Field(description="The whole answer.")
    usage: Usage
    session: str = Field(description="The dialog session; pass it back as `session` to continue.")
    latency_ms: int | None = None


def register(server: MCPServer, gz: Gazette, principal_of: PrincipalResolver) -> None:
    @server.tool(
        name="ask_model",
        description=(
            "Ask another language model, one the user configured in Gazette (a local Ollama model or a cloud "
            "model), and get its whole answer as `text` with token usage. Use it for a second opinion, or to "
            "hand a self-contained sub-question to a cheaper or specialised model. The question and answer are "
            "recorded in the user's dialog memory (unless the user turned capture off); pass the returned "
            "`session` back to continue the same conversation. `model` is a route name such as 'local' or "
            "'fast', provider:model such as 'ollama:llama3.2', or an Ollama model name; omit it for the default."
        ),
        annotations=ASKS_A_MODEL,
    )
    @tool_call(gz, "ask_model", principal_of)
    def ask_model(
        ctx: Context,
        prompt: Annotated[str, Field(description="The question, self-contained: the model sees nothing else.")],
        model: Annotated[str | None, Field(description="Route, provider:model or Ollama model; omit: default.")] = None,
        session: Annotated[
            str | None, Field(description="A session id from an earlier ask_model answer, to continue it.")
        ] = None,
        system: Annotated[str | None, Field(description="Instructions for the model (a system prompt).")] = None,
    ) -> ModelAnswer:
        events = gz.dialogs.ask(principal_of(ctx), prompt, model=model, session=session, system=system)
        answer = final_answer(events)
        return ModelAnswer(
            route=answer.route,
            provider=answer.provider,
            model=answer.model,
            text=answer.answer,
            usage=answer.usage,
            session=answer.session,
            latency_ms=answer.latency_ms,
        )
