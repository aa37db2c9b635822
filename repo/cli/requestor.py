"""The requestor's commands: pull a pinned version, learn whether it is superseded, upgrade it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import InvalidInput
from .console import Bars, emit_json, out, short
from .ipd import JsonOption, command

if TYPE_CHECKING:
    from ..requestor.catalogue import CellChange, Listing, RecordChange

SourceOption = Annotated[Optional[str], typer.Option(
    "--from", help="The repository: a path or a git URL (with --upgrade or status: default, the pinned source).")]


@command
def pull(
    ref: Annotated[Optional[str], typer.Argument(
        metavar="TRIAL[@vN] | DIR",
        help="Trial and version to pull (default: latest). With --upgrade: the directory of an earlier pull "
             "(default: .), or the trial when --out names the directory.")] = None,
    source: SourceOption = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Directory to write the data and pin file into.")
                       ] = None,
    format: Annotated[Optional[str], typer.Option(
        help="parquet (default), csv, xpt (SAS transport), dta (Stata) or sav (SPSS).")] = None,
    upgrade: Annotated[bool, typer.Option(
        "--upgrade", help="Move an earlier pull to the newest version, keeping its old pin in the pin's history.")
                       ] = False,
    tier: Annotated[Optional[str], typer.Option(
        help="Pull the version's de-identified release for this tier (noncommercial or commercial) from the "
             "release remote: every file of the package, checked against its release record.")] = None,
    json: JsonOption = False,
) -> None:
    """Pull a pinned version (or its release, with --tier), checked against its fingerprint; or upgrade a pull."""
    if upgrade:
        if tier is not None:
            raise InvalidInput("an upgrade keeps the pinned tier; leave out --tier")
        _upgrade(ref, source, out_dir, format, json)
        return
    from ..repository.refs import Ref
    from ..requestor.pull import PullOptions
    from ..requestor.pull import pull as run

    if ref is None:
        raise InvalidInput("name the TRIAL[@vN] to pull, or give --upgrade DIR to upgrade an earlier pull")
    if source is None:
        raise InvalidInput("give --from: the repository to pull from (a path or a git URL)")
    if out_dir is None:
        raise InvalidInput("give --out: the directory to pull into")
    if tier is not None and format is not None:
        raise InvalidInput("a release comes in every format at once (Parquet, CSV, SAS transport); leave out --format")
    pin = run(PullOptions(Ref.parse(ref), source, out_dir, format or "parquet", tier), Bars())
    if json:
        emit_json(pin.to_json())
        return
    if pin.tier:
        issue = f" (issue {pin.issue})" if pin.issue > 1 else ""
        out.print(f"Pulled the {pin.tier} release of {pin.trial}@{pin.version}{issue} ({pin.rows} rows, fingerprint "
                  f"{short(pin.fingerprint)} and every file verified) into {escape(str(out_dir))}: {', '.join(pin.files)}")
        return
    out.print(f"Pulled {pin.trial}@{pin.version} ({pin.rows} rows, fingerprint {short(pin.fingerprint)} verified) "
              f"into {out_dir}: {', '.join(pin.files)}")


def _upgrade(ref: str | None, source: str | None, out_dir: Path | None, format: str | None, json: bool) -> None:
    from ..repository.refs import Ref
    from ..requestor.pull import upgrade as run

    if format is not None:
        raise InvalidInput("an upgrade keeps the pinned format; to change it, pull into another directory")
    trial = None
    if out_dir is not None and ref is not None:  # `ipd pull TRIAL --upgrade --out DIR`
        parsed = Ref.parse(ref)
        if parsed.version:
            raise InvalidInput(f"an upgrade moves to the newest version: name the trial without @{parsed.version}")
        trial = parsed.trial
    directory = out_dir or Path(ref or ".")
    result = run(directory, source, trial, Bars())
    pin = result.pin
    if json:
        emit_json({"upgraded": result.upgraded, "from": result.previous.version, "to": pin.version,
                   **({"from_issue": result.previous.issue, "to_issue": pin.issue} if pin.tier else {}),
                   "pin": pin.to_json()})
        return
    if not result.upgraded:
        out.print(f"{directory} already holds the newest version, {escape(pin.label)}; nothing to upgrade")
        return
    out.print(f"Upgraded {directory} from {escape(result.previous.label)} to {escape(pin.label)} "
              f"({pin.rows} rows, fingerprint {short(pin.fingerprint)} verified): {', '.join(pin.files)}")


@command
def status(
    directory: Annotated[Path, typer.Argument(help="A directory written by `ipd pull` (default: .).")] = Path("."),
    source: SourceOption = None,
    json: JsonOption = False,
) -> None:
    """Whether a pulled version is superseded, and what changed since: counts, the corrections' reasons, and (for a
    release from a catalogue) which of your cells and records."""
    from ..requestor.status import status as run

    state = run(directory, source, Bars())
    if json:
        emit_json(state.to_json())
        return
    issue = f", issue {state.issue}" if state.issue > 1 else ""
    label = f"{state.trial}@{state.version}" + (f" ({state.tier} release{issue})" if state.tier else "")
    if not state.superseded:
        out.print(f"{label} is up to date with {escape(state.source)}")
        return
    latest = state.latest + (f" (issue {state.latest_issue})" if state.latest_issue > 1 else "")
    newer = f"the {state.tier} release of {latest}" if state.tier else latest
    out.print(f"{label} is superseded by {newer}: {_changes(state)}")
    _print_listing(state.listing)
    if state.versions:
        versions = Table("version", "created (UTC)", "kind", "message", title="newer versions", title_justify="left")
        for v in state.versions:
            versions.add_row(v.version, v.created[:16].replace("T", " "), v.kind, escape(v.message))
        out.print(versions)
    if state.reasons:
        reasons = Table("corrections", "reason", title="reasons", title_justify="left")
        for r in state.reasons:
            reasons.add_row(str(r.count), escape(r.reason))
        out.print(reasons)
    for note in state.notes:
        out.print(f"note: {escape(note)}")
    out.print(f"Run `ipd pull --upgrade {escape(str(directory))}` to move it to {latest}.")


SHOWN = 20  # rows of the changes a holder sees; --json has them all


def _print_listing(listing: Listing | None) -> None:
    """The holder's changed cells, then the records removed and added, as the release notes' table shows them."""
    if listing is None or listing.cells is None:  # not from a catalogue, or unknown (and the counts say so)
        return
    rows = [(_who(c), _column(c.table, c.column), c.was, c.now, "; ".join(c.reasons)) for c in listing.cells]
    for kind, records in (("removed", listing.removed or []), ("added", listing.added or [])):
        rows += [(_who(r), f"(whole record of {r.table})" if r.table else "(whole record)", "", kind,
                  "; ".join(r.reasons)) for r in records]
    if not rows:
        return
    table = Table("release ID", "column", "in your copy", "now", "reason", title="what changed in your copy",
                  title_justify="left")
    for row in rows[:SHOWN]:
        table.add_row(*map(escape, row))
    out.print(table)
    if len(rows) > SHOWN:
        out.print(f"… and {len(rows) - SHOWN} more (see --json)")


def _who(change: CellChange | RecordChange) -> str:
    return f"{change.release_id} ({change.record})" if change.record else change.release_id


def _column(table: str | None, column: str) -> str:
    return f"{table}.{column}" if table else column


def _changes(state) -> str:
    if state.cells_changed is None:
        return "changes unknown (see the note below)"
    text = (f"{_count(state.cells_changed, 'cell')} changed, {_count(state.records_removed, 'record')} removed, "
            f"{state.records_added} added")
    if state.columns_added:
        text += f", {_count(len(state.columns_added), 'column')} added ({', '.join(state.columns_added)})"
    if state.columns_removed:
        text += f", {_count(len(state.columns_removed), 'column')} removed ({', '.join(state.columns_removed)})"
    return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
