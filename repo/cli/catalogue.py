"""``ipd catalogue``: the release zone. ``audit`` looks for removed values in all of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..errors import InvalidInput
from .console import Bars, emit_json, out
from .ipd import JsonOption, RepoOption, app, command, open_repository

catalogue_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                            help="The release catalogue: the git repository and release remote requestors get.")
app.add_typer(catalogue_app, name="catalogue")


@command(target=catalogue_app, name="audit")
def audit(
    catalogue: Annotated[Optional[str], typer.Argument(
        metavar="[CATALOGUE]", help="The catalogue's git repository: a path or any git URL "
                                    "(default: remotes.catalogue in ipd.toml).")] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Look through the catalogue's whole history and its release remote for any value a release deleted or
    replaced (identifiers, keys, dates, values beyond a top code); exit 1 on any finding.

    Findings name the file, the commits, the trial and the column; a value only by a keyed hash."""
    from ..catalogue.audit import audit as run
    from ..catalogue.audit import catalogue_of

    opened = open_repository(repo)
    where = catalogue_of(opened, catalogue)
    if where is None:
        raise InvalidInput("no catalogue given, and none configured: name one (`ipd catalogue audit PATH-OR-URL`) "
                           "or set remotes.catalogue in ipd.toml")
    result = run(opened, where, Bars())
    if json:
        emit_json(result.to_json())
    else:
        render(result)
    if not result.success:
        raise typer.Exit(1)


def render(result) -> None:
    for f in result.findings:
        place = f.place
        if place.object:
            where = f"release remote {place.object}" + (f" ({', '.join(place.paths)})" if place.paths else "")
        else:
            where = f"{place.file} (blob {place.blob}{'' if place.at_head else ', gone from HEAD'})"
        commits = f", added in {', '.join(place.commits)}" if place.commits else ""
        what = (f"column(s) {', '.join(f.table_columns)} of the table hold its values" if f.table_columns else "")
        if f.hashes:
            shown = ", ".join(f.hashes[:5]) + (f" and {len(f.hashes) - 5} more" if len(f.hashes) > 5 else "")
            what = "; ".join(w for w in (f"{len(f.hashes)} value(s), hash {shown}", what) if w)
        released = f" ({', '.join(f.releases)})" if f.releases else ""
        out.print(f"[red]{escape(where)}[/]{escape(commits)}: {escape(f.trial)}.{escape(f.column)}, "
                  f"{escape(f.kind)}{escape(released)}: {escape(what)}")
    for line in result.notes:
        out.print(f"[yellow]note[/] {escape(line)}")
    for note in result.not_checked:
        out.print(f"[yellow]not checked[/] {escape(note['object'])}: {escape(note['reason'])}")
    scanned = (f"{result.blobs} blob(s) of {result.commits} commit(s), {result.objects} object(s) of the release "
               f"remote, for the values removed by {len(result.releases)} release(s)")
    verdict = "[green]clean[/]" if result.success else f"[red]{len(result.findings)} finding(s)[/]"
    out.print(f"{escape(result.catalogue)}: {verdict} ({escape(scanned)})")
