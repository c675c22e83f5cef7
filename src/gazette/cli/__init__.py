"""Command-line surface. Only typer and rich are imported at module level: `--help` stays instant."""

from __future__ import annotations

import sys
import traceback
from typing import Any

from gazette.cli.output import fail
from gazette.cli.root import app
from gazette.errors import GazetteError


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `gazette` console script: user errors are one line and exit code 1."""
    run(app, "gazette", argv)


def run(command: Any, prog_name: str, argv: list[str] | None = None) -> None:
    """Run a typer app as a console script: `GazetteError` is one line on stderr and exit 1
    (`--debug` adds the traceback), Ctrl-C exits 130, anything else is a one-line internal error."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        command(args=args, prog_name=prog_name)
    except GazetteError as exc:
        if debug:
            traceback.print_exc()
        fail(exc.message)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line unless --debug
        if debug:
            raise
        fail(f"internal error ({type(exc).__name__}: {exc}); run with --debug for the traceback")
        sys.exit(1)


__all__ = ["app", "main", "run"]
