"""Keeping indexes fresh: watch directories (watchfiles, debounced) and install git hooks."""

from __future__ import annotations

import shlex
import stat
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from gazette.auth.models import Principal
from gazette.errors import GazetteError, InvalidInputError, NotFoundError
from gazette.index.walker import GENERATED_DIRS, VENDORED_DIRS
from gazette.logs import get_logger

if TYPE_CHECKING:
    from gazette.app import Gazette
    from gazette.index.models import IndexReport

log = get_logger("gazette.watch")

HOOKS = ("post-merge", "post-checkout", "post-commit")
MARKER = "# gazette: re-index on git changes"
DEBOUNCE_MS = 500


def watch(
    gz: Gazette,
    principal: Principal,
    names: Iterable[str] | None = None,
    *,
    stop: threading.Event | None = None,
    on_reindex: Callable[[IndexReport], None] | None = None,
) -> None:
    """Re-index repositories when their files change, until `stop` is set (or Ctrl-C).

    Raises:
        InvalidInputError: no repository to watch.
    """
    from watchfiles import DefaultFilter
    from watchfiles import watch as watch_paths

    repos = {repo.name: Path(repo.root) for repo in gz.index.list_repos(principal)}
    wanted = list(names) if names else list(repos)
    missing = [name for name in wanted if name not in repos]
    if missing:
        raise InvalidInputError(f"no repository named {', '.join(missing)}; `gazette index list` shows them")
    if not wanted:
        raise InvalidInputError("no repositories to watch: index one first with `gazette index repo PATH --name N`")
    roots = {name: repos[name].resolve() for name in wanted}
    skip = DefaultFilter(ignore_dirs=(*DefaultFilter.ignore_dirs, *VENDORED_DIRS, *GENERATED_DIRS))
    log.info("watching", repos=sorted(roots))
    for changes in watch_paths(
        *roots.values(), watch_filter=skip, debounce=DEBOUNCE_MS, stop_event=stop, raise_interrupt=False
    ):
        touched = {name for name, root in roots.items() for _, path in changes if Path(path).is_relative_to(root)}
        for name in sorted(touched):
            try:
                report = gz.index.index_repo(principal, roots[name], name)
            except GazetteError as exc:
                log.warning("re-index failed", repo=name, error=exc.message)
                continue
            log.info("re-indexed", repo=name, indexed=report.indexed, removed=report.removed)
            if on_reindex:
                on_reindex(report)


def install_hooks(gz: Gazette, principal: Principal, name: str, *, command: str | None = None) -> list[Path]:
    """Add a re-index line to the repository's post-merge, post-checkout and post-commit hooks.

    Existing hooks are kept: the line is appended once. Returns the hook files touched.

    Raises:
        NotFoundError: no such repository.
        InvalidInputError: the repository root is not a git work tree.
    """
    repo = next((r for r in gz.index.list_repos(principal) if r.name == name), None)
    if repo is None:
        raise NotFoundError(f"no repository named {name!r}; `gazette index list` shows them")
    root = Path(repo.root)
    git_dir = root / ".git"
    if not git_dir.is_dir():
        raise InvalidInputError(f"{root} is not a git work tree (no .git directory): hooks need one")
    executable = command or shlex.join([sys.executable, "-m", "gazette"])
    line = f"{executable} index repo {shlex.quote(str(root))} --name {shlex.quote(name)} >/dev/null 2>&1 &"
    touched = []
    for hook in HOOKS:
        path = git_dir / "hooks" / hook
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = path.read_text() if path.exists() else "#!/bin/sh\n"
        if MARKER not in existing:
            path.write_text(existing.rstrip("\n") + f"\n{MARKER}\n{line}\n")
            touched.append(path)
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return touched


def watch_in_background(gz: Gazette, principal: Principal) -> tuple[threading.Thread, threading.Event] | None:
    """For `serve --watch`: watch every registered repository in a thread; None when there are none."""
    if not gz.index.list_repos(principal):
        log.info("serve --watch: no repositories registered yet")
        return None
    stop = threading.Event()

    def run() -> None:
        try:
            watch(gz, principal, stop=stop)
        except Exception:
            log.exception("watcher stopped")

    thread = threading.Thread(target=run, name="gazette-watch", daemon=True)
    thread.start()
    return thread, stop
