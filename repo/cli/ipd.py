"""The ``ipd`` application: its options, and the wrapper that turns RepoErrors into one-line messages."""


from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from ..backends import sql
from ..errors import RepoError, disk_full
from .console import error, out

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help="ipd: a versioned repository for clinical-trial individual participant data.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
RepoOption = Annotated[Path, typer.Option("--repo", "-C", help="The repository (default: the current directory).")]


def command(func=None, *, name: str | None = None, target: typer.Typer | None = None):
    """Register a command (on ``target``, default the main app) whose RepoErrors, and DuckDB errors no step
    translated, become one-line messages."""

    def register(func):
        label = name or func.__name__.lower().replace("_", "-")  # as typer names the command

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
                if sql.is_database_error(exc):  # a query no step translated: most likely the user's data
                    error(sql.message(_command_line(label, target), exc))
                    raise typer.Exit(RepoError.exit_code) from None
                if full := disk_full([exc]):
                    error(full)
                    raise typer.Exit(RepoError.exit_code) from None
                error(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
                      "(set IPD_DEBUG=1 to see the traceback)")
                raise typer.Exit(3) from None

        return (target or app).command(name=name)(wrapper)

    return register(func) if func else register


def _command_line(name: str, target: typer.Typer | None) -> str:
    """``ipd release plan``: the command as typed, to name what was running when nothing else does."""
    group = next((g.name for g in app.registered_groups if target is not None and g.typer_instance is target), None)
    return " ".join(word for word in ("ipd", group, name) if word)


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
