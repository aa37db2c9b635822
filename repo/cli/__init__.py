"""The ``ipd`` command: parse arguments, call the core, render the result.

No logic lives here. This is the one place that catches RepoError: it prints
the message on one line and exits non-zero. Commands live in the modules
named for what they serve: ``versions`` (init, ingest, list, log, show),
``checking`` (suites, checks, validation), ``corrections`` (correct, commit),
``queries``, ``diffing`` (diff), ``requestor`` (pull, status), ``release`` and
``verifying`` (verify).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from .console import error, out
from ..errors import RepoError, disk_full

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help="ipd: a versioned repository for clinical-trial individual participant data.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
RepoOption = Annotated[Path, typer.Option("--repo", "-C", help="The repository (default: the current directory).")]


def command(func=None, *, name: str | None = None, target: typer.Typer | None = None):
    """Register a command (on ``target``, default the main app) whose RepoErrors become one-line messages."""

    def register(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except RepoError as exc:
                error(str(exc))
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                error("interrupted; the repository is as it was before the command")
                raise typer.Exit(130) from None
            except typer.Exit:  # a command's own exit code (check and validate exit 1 on failure)
                raise
            except Exception as exc:  # a bug in ipd: still one line, with the way to see more
                if os.environ.get("IPD_DEBUG"):
                    raise
                if full := disk_full([exc]):
                    error(full)
                    raise typer.Exit(RepoError.exit_code) from None
                error(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
                      "(set IPD_DEBUG=1 to see the traceback)")
                raise typer.Exit(3) from None

        return (target or app).command(name=name)(wrapper)

    return register(func) if func else register


def open_repository(path: Path):
    from ..repository import Repository

    return Repository.find(path)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"ipd-repo {__version__}")
        raise typer.Exit(0)


from . import versions, checking, corrections, queries, diffing, requestor, release, release_plan, release_consent, lineage, verifying  # noqa: E402,F401,I001 - registers their commands, in this order


def main() -> None:
    app()
