"""``ipd verify``: tamper evidence, rebuilding every version from source, and pruning unreferenced objects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..errors import InvalidInput
from .console import Bars, emit_json, out
from .ipd import JsonOption, RepoOption, command, open_repository


@command
def verify(
    trial: Annotated[Optional[str], typer.Argument(help="Trial (default: every trial).")] = None,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Also rebuild every version from its delivery and logged corrections, "
                          "and match its recorded fingerprint.")] = False,
    prune: Annotated[bool, typer.Option(
        "--prune", help="First remove, under the repository lock, the objects of the local-directory remotes that "
                        "no version or release references (what a killed release leaves), then verify. Only for "
                        "remotes no other repository pushes to: refused when this one has git remotes, whose "
                        "copies may have pushed objects for commits it lacks (see --force).")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="With --prune: prune though the repository has git remotes (fetch every copy's "
                        "branches and tags first).")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Check the hash chain, records, tags, correction log and stored data; exit 1 on any problem.

    Objects in the remotes that nothing references are warnings; --prune removes them."""
    from ..verify import verify as run
    from ..verify.unreferenced import prune as remove

    if force and not prune:
        raise InvalidInput("--force goes with --prune")
    opened = open_repository(repo)
    pruned = remove(opened, force, Bars()) if prune else None
    result = run(opened, trial, Bars())
    result.pruned = pruned
    if rebuild:
        from ..verify.rebuild import rebuild as replay

        replay(opened, trial, Bars(), result)
    if json:
        emit_json(result.to_json())
    else:
        render(result)
    if not result.success:
        raise typer.Exit(1)


def render(result) -> None:
    for obj in result.pruned or []:
        out.print(f"removed {escape(obj.object)} from the {obj.remote} remote ({obj.size} bytes)")
    if result.pruned is not None:
        out.print(f"pruned {len(result.pruned)} unreferenced object(s), {sum(o.size for o in result.pruned)} "
                  "bytes freed")
    for problem in result.problems:
        out.print(f"[red]{escape(problem.object)}[/]: {escape(problem.problem)}")
    for note in result.not_checked:
        out.print(f"[yellow]not checked[/] {escape(note.object)}: {escape(note.problem)}")
    for obj in result.unreferenced:
        out.print(f"[yellow]unreferenced[/] {escape(obj.object)} in the {obj.remote} remote ({obj.size} bytes): "
                  "no version or release names it")
    if result.unreferenced:
        out.print(f"{len(result.unreferenced)} unreferenced object(s), "
                  f"{sum(o.size for o in result.unreferenced)} bytes: `ipd verify --prune` removes them")
    verdict = "[green]verified[/]" if result.success else f"[red]{len(result.problems)} problem(s)[/]"
    out.print(f"{', '.join(result.trials) or 'no trials'}: {verdict}")
