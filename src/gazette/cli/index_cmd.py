"""`gazette index`, `gazette search`, `gazette read`: the context engine from the terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

if TYPE_CHECKING:
    from gazette.index import IndexReport

app = typer.Typer(help="Index repositories for memory_search / memory_read.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("repo")
def repo(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Directory to index.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Repository name (unique in the workspace).")],
    as_json: JsonOption = False,
) -> None:
    """Index a directory (again: only changed files are re-read), honouring .gitignore and .gazetteignore."""
    gz = cli_context(ctx).gazette()
    if as_json or not sys.stderr.isatty():
        report = gz.index.index_repo(gz.local_owner(), path, name)
    else:
        report = _with_progress(gz, path, name)
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        _summary(report)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the repositories of the workspace."""
    gz = cli_context(ctx).gazette()
    repos = gz.index.list_repos(gz.local_owner())
    if as_json:
        print_json([repo.model_dump(mode="json") for repo in repos])
        return
    if not repos:
        console.print("No repositories. Index one with: gazette index repo PATH --name NAME")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("name", "status", "files", "chunks", "skipped", "errors", "indexed (UTC)", "root"):
        table.add_column(column)
    for row in repos:
        when = f"{row.last_indexed_at:%Y-%m-%d %H:%M}" if row.last_indexed_at else "-"
        table.add_row(
            row.name, row.status, str(row.files), str(row.chunks), str(row.skipped), str(row.errors), when, row.root
        )
    console.print(table)


@app.command("status")
def status(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Repository name.")],
    as_json: JsonOption = False,
) -> None:
    """indexed, indexing, stale (changed on disk since), failed or unknown; with per-file errors."""
    gz = cli_context(ctx).gazette()
    result = gz.index.status(gz.local_owner(), name)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    when = f"{result.last_updated:%Y-%m-%d %H:%M} UTC" if result.last_updated else "never"
    console.print(f"{name}: {result.status} · {result.files} files · {result.chunks} chunks · last indexed {when}")
    if result.message:
        console.print(f"  {result.message}", markup=False)
    for error in result.errors:
        console.print(f"  error: {error.path}: {error.error}", markup=False)


@app.command("remove")
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Repository name.")]) -> None:
    """Forget a repository's index (its files on disk are not touched)."""
    gz = cli_context(ctx).gazette()
    removed = gz.index.remove_repo(gz.local_owner(), name)
    console.print(f"Removed {removed.name} ({removed.files} files, {removed.chunks} chunks) from the index.")


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    repo: Annotated[str | None, typer.Option("--repo", "-r", help="Only this repository.")] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many hits (1-100).")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Search the indexed repositories; hits cite repo, path, lines and heading."""
    gz = cli_context(ctx).gazette()
    hits = gz.index.search(gz.local_owner(), query, repo=repo, k=k)
    if as_json:
        print_json([hit.model_dump(mode="json") for hit in hits])
        return
    if not hits:
        console.print("No hits.")
        return
    for hit in hits:
        where = f"{hit.repo}:{hit.path}:{hit.start_line}-{hit.end_line}"
        console.print(
            f"[bold]{where}[/]" + (f"  [dim]{hit.heading}[/]" if hit.heading else "") + f"  [dim]{hit.score:.2f}[/]"
        )
        console.print(hit.snippet, markup=False)
        console.print()


def read(
    ctx: typer.Context,
    repo: Annotated[str, typer.Argument(help="Repository name.")],
    path: Annotated[str, typer.Argument(help="Path relative to the repository root.")],
    as_json: JsonOption = False,
) -> None:
    """Print a whole indexed file."""
    gz = cli_context(ctx).gazette()
    content = gz.index.read(gz.local_owner(), repo, path)
    if as_json:
        print_json(content.model_dump(mode="json"))
    else:
        sys.stdout.write(content.content if content.content.endswith("\n") else content.content + "\n")


def _with_progress(gz: object, path: Path, name: str) -> IndexReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gazette.app import Gazette

    assert isinstance(gz, Gazette)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} files/s"),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[current]}"),
    )
    with Progress(*columns, transient=True, console=console.__class__(stderr=True)) as bar:
        task = bar.add_task(f"indexing {name}", total=None, rate="-", current="")

        def advance(done: int, total: int, current: str) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:.0f}" if elapsed > 0 else "-"
            bar.update(task, completed=done, total=total, rate=rate, current=current[-50:])

        return gz.index.index_repo(gz.local_owner(), path, name, progress=advance)


def _summary(report: IndexReport) -> None:
    skipped = sum(report.skipped.values())
    console.print(
        f"[bold]{report.repo}[/]: {report.files} files, {report.chunks} chunks · {report.indexed} indexed, "
        f"{report.unchanged} unchanged, {report.removed} removed · {skipped} skipped · "
        f"{len(report.errors)} errors · {report.seconds:.2f}s"
    )
    for reason, count in sorted(report.skipped.items(), key=lambda item: -item[1]):
        examples = ", ".join(report.skipped_examples.get(reason, [])[:3])
        console.print(f"  skipped {count:>5} {reason}  [dim]{examples}[/]", markup=True)
    for error in report.errors[:20]:
        console.print(f"  error: {error.path}: {error.error}", markup=False)
    if len(report.errors) > 20:
        console.print(f"  … and {len(report.errors) - 20} more errors (gazette index status {report.repo})")


def watch(
    ctx: typer.Context,
    repos: Annotated[list[str] | None, typer.Argument(help="Repositories to watch [default: all].")] = None,
) -> None:
    """Re-index repositories whenever their files change (debounced), until Ctrl-C."""
    from gazette.index.freshness import watch as watch_repos

    gz = cli_context(ctx).gazette(long_running=True)

    def report(result: IndexReport) -> None:
        console.print(f"re-indexed {result.repo}: {result.indexed} changed, {result.removed} removed")

    console.print("Watching for changes (Ctrl-C to stop)…")
    watch_repos(gz, gz.local_owner(), repos or None, on_reindex=report)


hooks_app = typer.Typer(help="Git hooks that keep an index fresh.", no_args_is_help=True)


@hooks_app.command("install")
def install_hooks(ctx: typer.Context, repo: Annotated[str, typer.Argument(help="Repository name.")]) -> None:
    """Re-index after git merge, checkout and commit (existing hooks are kept)."""
    from gazette.index.freshness import install_hooks as install

    gz = cli_context(ctx).gazette()
    touched = install(gz, gz.local_owner(), repo)
    if touched:
        for path in touched:
            console.print(f"installed {path}")
    else:
        console.print("Hooks already installed.")
