"""`gazette webhooks`: signed callbacks for repo.created, index.completed, index.failed."""

from __future__ import annotations

from typing import Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

app = typer.Typer(help="Webhooks: signed HTTP callbacks for events, retried with backoff.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="http(s) URL to POST events to.")],
    events: Annotated[
        list[str] | None,
        typer.Option("--event", "-e", help="repo.created, index.completed or index.failed (repeat) [default: all]."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a webhook; prints its signing secret once."""
    gz = cli_context(ctx).gazette()
    created = gz.webhooks.add(gz.local_owner(), url, events or [])
    if as_json:
        print_json({"secret": created.secret, **created.webhook.model_dump(mode="json")})
        return
    console.print(f"Webhook {created.webhook.id} for {', '.join(created.webhook.events)}. Signing secret, shown once:")
    print(created.secret)
    console.print("Verify X-Gazette-Signature = sha256=HMAC-SHA256(secret, X-Gazette-Timestamp + '.' + body).")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the workspace's webhooks (never their secrets)."""
    gz = cli_context(ctx).gazette()
    hooks = gz.webhooks.list_webhooks(gz.local_owner())
    if as_json:
        print_json([hook.model_dump(mode="json") for hook in hooks])
        return
    if not hooks:
        console.print("No webhooks. Add one with: gazette webhooks add URL --event index.completed")
    for hook in hooks:
        console.print(f"{hook.id}  {hook.url}  {', '.join(hook.events)}", markup=False)


@app.command("remove")
def remove(ctx: typer.Context, webhook_id: Annotated[int, typer.Argument(help="Webhook id.")]) -> None:
    """Remove a webhook and its delivery history."""
    gz = cli_context(ctx).gazette()
    removed = gz.webhooks.remove(gz.local_owner(), webhook_id)
    console.print(f"Removed webhook {removed.id} ({removed.url}).", markup=False)


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    webhook_id: Annotated[int | None, typer.Argument(help="Only this webhook.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Recent deliveries and their outcome."""
    gz = cli_context(ctx).gazette()
    rows = gz.webhooks.deliveries(gz.local_owner(), webhook_id=webhook_id)
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    for row in rows:
        outcome = row.last_error or (str(row.last_status_code) if row.last_status_code else "")
        console.print(
            f"{row.id}  {row.event:<16} {row.status:<9} attempts {row.attempts}  {outcome}  {row.url}", markup=False
        )
