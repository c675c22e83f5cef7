"""`gazette auth`: tokens and credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

if TYPE_CHECKING:
    from gazette.auth import TokenInfo

app = typer.Typer(
    help="Access tokens and provider credentials: add, list, revoke, rotate the vault key.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("add")
def add(
    ctx: typer.Context,
    provider: Annotated[
        str,
        typer.Argument(
            help="'gazette' mints a Gazette access token; any other name (github, openai, anthropic, deepseek, …) "
            "stores that provider's secret, read from a hidden prompt or stdin, encrypted in the vault."
        ),
    ],
    name: Annotated[str, typer.Option("--name", help="A name to recognise the token by.")],
    scopes: Annotated[
        str | None, typer.Option("--scopes", help="Comma-separated scopes [default: memory:read].")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="90d, 12h, 2w, or never (admins only) [default: 90d].")
    ] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests per minute allowed.")] = None,
    rpd: Annotated[int | None, typer.Option("--rpd", help="Requests per day allowed.")] = None,
    role: Annotated[str, typer.Option("--role", help="personal, admin or cos_internal.")] = "personal",
    user: Annotated[str | None, typer.Option("--user", help="User the token acts as [default: local].")] = None,
    allow_operator_llm: Annotated[
        bool,
        typer.Option(
            "--allow-operator-llm", help="Let this token use the operator's model keys when it has none of its own."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Mint a Gazette token (printed once, stored as a hash), or store a provider credential."""
    gz = cli_context(ctx).gazette()
    if provider.strip().lower() != "gazette":
        info = gz.auth.add_credential(
            gz.local_owner(),
            provider=provider,
            name=name,
            secret=_read_secret(provider),
            scopes=scopes.split(",") if scopes else None,
            rpm=rpm,
            rpd=rpd,
            user=user,
        )
        if as_json:
            print_json(info.model_dump(mode="json"))
        else:
            console.print(f"Stored {info.provider}/{info.name} ({info.prefix}…) encrypted in the vault.")
        return
    minted = gz.auth.add_token(
        gz.local_owner(),
        name=name,
        scopes=scopes.split(",") if scopes else None,
        role=role,
        expires=expires,
        rpm=rpm,
        rpd=rpd,
        user=user,
        allow_operator_llm=allow_operator_llm,
    )
    if as_json:
        print_json({"token": minted.token, **minted.info.model_dump(mode="json")})
        return
    console.print(f"Token [bold]{minted.info.name}[/] ({', '.join(minted.info.scopes)}), shown once:")
    print(minted.token)
    expiry = f"{minted.info.expires_at:%Y-%m-%d}" if minted.info.expires_at else "never"
    console.print(f"Expires: {expiry}. Send it as 'Authorization: Bearer <token>' or 'X-API-Key: <token>'.")


@app.command("list")
def list_(
    ctx: typer.Context,
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List tokens (prefix, scopes, usage today, expiry, last use); never a secret."""
    gz = cli_context(ctx).gazette()
    rows = gz.auth.list_tokens(gz.local_owner(), include_revoked=include_revoked)
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    if not rows:
        console.print("No tokens. Mint one with: gazette auth add gazette --name NAME")
        return
    _table(rows)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    name_or_prefix: Annotated[str, typer.Argument(help="Token name or its visible prefix (gzt_XXXXXXXX).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a token at once; it stays listed with --all."""
    gz = cli_context(ctx).gazette()
    info = gz.auth.revoke_token(gz.local_owner(), name_or_prefix)
    if as_json:
        print_json(info.model_dump(mode="json"))
    else:
        console.print(f"Revoked {info.prefix} ({info.name}).")


@app.command("limits")
def limits(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show each token's use against its per-minute and per-day limits."""
    gz = cli_context(ctx).gazette()
    usage = gz.rate_limits.usage(gz.local_owner())
    if as_json:
        print_json([row.model_dump(mode="json") for row in usage])
        return
    if not usage:
        console.print("No tokens. Mint one with: gazette auth add gazette --name NAME --rpm 60 --rpd 1000")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("prefix", "name", "per minute", "today"):
        table.add_column(column)
    for row in usage:
        minute = "unlimited" if row.rpm_limit is None else f"{row.rpm_limit}/min"
        if row.rpm_limit is not None and row.rpm_used is not None:
            minute = f"{_bar(row.rpm_used, row.rpm_limit)} {row.rpm_used}/{row.rpm_limit}"
        today = f"{row.rpd_used} (no daily limit)"
        if row.rpd_limit:
            today = f"{_bar(row.rpd_used, row.rpd_limit)} {row.rpd_used}/{row.rpd_limit}"
        table.add_row(row.token.prefix, row.token.name, minute, today)
    console.print(table)
    if usage and all(row.rpm_used is None for row in usage):
        console.print(
            "[dim]Per-minute counters live in the server process; "
            "set GAZETTE_RATE_LIMIT__URL=redis://… to share and show them.[/]"
        )


def _bar(used: int, limit: int, width: int = 20) -> str:
    filled = min(width, round(width * used / limit)) if limit else 0
    colour = "red" if used >= limit else "yellow" if used >= 0.8 * limit else "green"
    return f"[{colour}]{'█' * filled}[/][dim]{'░' * (width - filled)}[/]"


@app.command("calls")
def calls(
    ctx: typer.Context,
    provider: Annotated[str | None, typer.Option("--provider", help="Only calls to this provider.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Show the calls Gazette made to model providers (the rate-limit log)."""
    gz = cli_context(ctx).gazette()
    rows = gz.provider_keys.list_calls(gz.local_owner(), provider=provider, limit=limit)
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    if not rows:
        console.print("No provider calls recorded yet.")
        return
    for row in rows:
        console.print(
            f"{row.created_at:%Y-%m-%d %H:%M:%S}  {row.provider:<10} {row.status_code}  {row.user}  {row.endpoint}"
        )


@app.command("rotate-key")
def rotate_key(
    ctx: typer.Context,
    reencrypt: Annotated[
        bool, typer.Option("--reencrypt", help="Re-encrypt every stored secret now (default: lazily on next read).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a new vault key; older keys stay to open what they sealed."""
    gz = cli_context(ctx).gazette()
    rotation = gz.auth.rotate_vault_key(gz.local_owner(), reencrypt=reencrypt)
    if as_json:
        print_json(rotation.model_dump())
    else:
        later = "" if reencrypt else ", the rest on their next use"
        console.print(
            f"Vault key {rotation.previous_key_id} -> {rotation.key_id}; "
            f"{rotation.reencrypted} secrets re-encrypted now{later}."
        )


@app.command("whoami")
def whoami(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the principal this CLI acts as (the local owner)."""
    principal = cli_context(ctx).gazette().local_owner()
    if as_json:
        print_json(principal.model_dump(mode="json"))
    else:
        console.print(
            f"{principal.user} ({principal.kind}) in workspace {principal.workspace}, role {principal.role.value}, "
            f"scopes {', '.join(sorted(principal.scopes))}"
        )


def _read_secret(provider: str) -> str:
    """From a hidden prompt on a terminal, else from stdin: never from the command line."""
    import sys

    from gazette.errors import InvalidInputError

    try:
        if sys.stdin.isatty():
            return str(typer.prompt(f"{provider} secret", hide_input=True))
        return sys.stdin.read()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read the {provider} secret from stdin ({exc}): pipe it in, or run in a terminal to be prompted"
        ) from None


def _table(rows: list[TokenInfo]) -> None:
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("prefix", "name", "provider", "user", "role", "scopes", "today", "expires", "last used", "state"):
        table.add_column(column)
    for row in rows:
        limit = f"/{row.rate_limit_rpd}" if row.rate_limit_rpd else ""
        table.add_row(
            row.prefix,
            row.name,
            row.provider,
            row.user,
            row.role.value,
            ",".join(row.scopes),
            f"{row.requests_today}{limit}",
            f"{row.expires_at:%Y-%m-%d}" if row.expires_at else "never",
            f"{row.last_request_at:%Y-%m-%d %H:%M}" if row.last_request_at else "-",
            "revoked" if row.revoked_at else "active",
        )
    console.print(table)
