"""``ipd verify``: tamper evidence, and rebuilding every version from source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..console import Bars, emit_json, out
from . import JsonOption, RepoOption, command, open_repository


@command
def verify(
    trial: Annotated[Optional[str], typer.Argument(help="Trial (default: every trial).")] = None,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Also rebuild every version from its delivery and logged corrections, "
                          "and match its recorded fingerprint.")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Check the hash chain, records, tags, correction log and stored data; exit 1 on any problem."""
    from ..verify import verify as run

    opened = open_repository(repo)
    result = run(opened, trial, Bars())
    if rebuild:
        from ..rebuild import rebuild as replay

        replay(opened, trial, Bars(), result)
    if json:
        emit_json(result.to_json())
    else:
        render(result)
    if not result.success:
        raise typer.Exit(1)


def render(result) -> None:
    for problem in result.problems:
        out.print(f"[red]{escape(problem.object)}[/]: {escape(problem.problem)}")
    for note in result.not_checked:
        out.print(f"[yellow]not checked[/] {escape(note.object)}: {escape(note.problem)}")
    verdict = "[green]verified[/]" if result.success else f"[red]{len(result.problems)} problem(s)[/]"
    out.print(f"{', '.join(result.trials) or 'no trials'}: {verdict}")
