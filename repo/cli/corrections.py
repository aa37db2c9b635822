"""ipd correct and ipd commit: staging corrections and cutting the corrected version."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .console import Bars, emit_json, out, short
from .ipd import JsonOption, RepoOption, command, open_repository


@command
def correct(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    key: Annotated[Optional[list[str]], typer.Option(
        help="The record's key; a value a key column, in order, for a key of several (--key 12 --key 3).")] = None,
    column: Annotated[Optional[str], typer.Option(help="The column to correct.")] = None,
    value: Annotated[Optional[str], typer.Option(help="The corrected value ('' for missing).")] = None,
    reason: Annotated[Optional[str], typer.Option(help="Why: the trialists' answer, the evidence.")] = None,
    public_reason: Annotated[Optional[str], typer.Option(
        help="The reason as release notes may publish it (no identifiers); without it, release notes give none.")] = None,
    query: Annotated[Optional[str], typer.Option(help="The query this answers, e.g. actg175-q3.")] = None,
    file: Annotated[Optional[Path], typer.Option(
        help="Stage many: a CSV with key,column,value,reason[,query][,action][,public_reason].")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the record --key (e.g. a duplicate registration).")] = False,
    add: Annotated[Optional[Path], typer.Option(help="Add the records in this file (any delivery format).")] = None,
    add_column: Annotated[Optional[Path], typer.Option(help="Add the variables in this file (the key and new columns).")] = None,
    table: Annotated[Optional[str], typer.Option(
        help="Another table of a trial of several (default: the participant table).")] = None,
    list_staged: Annotated[bool, typer.Option("--list", help="Show what is staged.")] = False,
    drop: Annotated[Optional[list[str]], typer.Option(help="Unstage an entry (s1, s2, …, or all); repeatable.")] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Stage corrections for the trial's next version (see --list, --drop; cut it with ipd commit)."""
    from ..corrections import staging as core
    from ..corrections.changes import Change
    from ..errors import InvalidInput

    repository = open_repository(repo)
    if list_staged:
        _render(core.staged(repository, trial), json, f"Nothing staged for {trial}.")
        return
    if drop:
        dropped = core.drop(repository, trial, drop)
        _render(dropped, json, "", title="dropped")
        return
    if file:
        from ..corrections.input import changes_from_csv

        changes = changes_from_csv(file)
        if public_reason is not None:
            raise InvalidInput("--public-reason goes with one correction; give a file's in its public_reason column")
    elif add:
        from ..corrections.input import records_from_file

        changes = records_from_file(add, reason or "", query, public_reason)
    elif add_column:
        changes = [Change("add_column", reason or "", query=query, supplement=add_column, public_reason=public_reason)]
    elif remove:
        changes = [Change("remove", reason or "", key=key, query=query, public_reason=public_reason)]
    else:
        changes = [Change("update", reason or "", key=key, column=column, value=value, query=query,
                          public_reason=public_reason)] if key is not None or column is not None else []
    if table is not None:
        from dataclasses import replace

        changes = [replace(change, table=table) for change in changes]
    _render(core.stage(repository, trial, changes), json, "", title="staged")


def _render(entries, json: bool, empty: str, title: str = "staged") -> None:
    if json:
        emit_json([asdict(e) for e in entries])
        return
    if not entries:
        out.print(empty)
        return
    for e in entries:
        out.print(f"{title} {e.id}: {escape(e.describe())} — {escape(e.reason)}{reason_notes(e)}")


def reason_notes(entry) -> str:
    """What follows an entry's reason in listings: its query, and the wording release notes may publish."""
    query = f" [query {entry.query}]" if entry.query else ""
    public = f" [public: {entry.public_reason}]" if entry.public_reason else ""
    return escape(query + public)


@command
def commit(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    message: Annotated[str, typer.Option("--message", "-m", help="What this version corrects.")],
    accept_failures: Annotated[Optional[str], typer.Option(
        help="Cut the version even though checks newly fail; the reason is recorded.")] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Apply the staged corrections and cut the trial's next version."""
    from ..corrections.commit import CommitOptions
    from ..corrections.commit import commit as run

    result = run(open_repository(repo), CommitOptions(trial, message, accept_failures), Bars())
    record = result.record
    if json:
        emit_json({"trial": record.trial, **record.summary(), "parent": record.parent,
                   "corrections": record.corrections, "changes": record.changes,
                   "parts_rewritten": result.parts_rewritten, "fixed": result.fixed,
                   "new_failures": result.new_failures, "still_failing": result.still_failing,
                   "override": record.override})
        return
    out.print(f"{record.trial}@{record.version}: {len(result.applied)} correction(s) applied "
              f"({', '.join(record.corrections)}), {result.parts_rewritten} of {record.nparts} part(s) rewritten, "
              f"{record.rows} rows, fingerprint {short(record.fingerprint)}")
    corrected = sorted({e.table for e in result.applied if e.table})
    for table in (t for t in record.tables if t.name in corrected):
        out.print(f"  table {table.name}: {table.rows} rows, fingerprint {short(table.fingerprint)}")
    for label, names in (("fixed", result.fixed), ("newly failing (accepted)", result.new_failures),
                         ("still failing", result.still_failing)):
        for name in names:
            out.print(f"  {label}: {name}")
