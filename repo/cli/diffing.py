"""ipd diff: what changed between two versions, and what that did to the headline figures."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..backends import csvsafe
from .console import emit_json, out
from .ipd import JsonOption, RepoOption, command, open_repository

SHOWN = 100  # changed cells listed in the terminal; --json and --csv list them all
CSV_HEADER = ["change", "key", "column", "old", "new", "correction", "reason"]


@command
def diff(
    a: Annotated[str, typer.Argument(help="From: TRIAL@vN (TRIAL alone is the latest version).")],
    b: Annotated[str, typer.Argument(help="To: TRIAL@vN, or just vN for the same trial.")],
    csv_file: Annotated[Optional[Path], typer.Option("--csv", help="Write every change as CSV to this file "
                                                     "('-' for standard output).")] = None,
    summary: Annotated[bool, typer.Option("--summary", help="Show what the changes did to participants and "
                                          "events per arm and to baseline balance.")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Every changed cell, record and variable between two versions, each with the correction that explains it."""
    from ..versions.diff import diff as run

    trial, old, new = _refs(a, b)
    if json and csv_file == Path("-"):
        from ..errors import InvalidInput

        raise InvalidInput("--json and --csv - both write to standard output: give --csv a file name")
    repository = open_repository(repo)
    found = run(repository, trial, old, new)
    if csv_file is not None:
        _write_csv(found, csv_file)
    if summary:
        from ..versions.summary import summary as headline

        figures = headline(repository, trial, found.old, found.new)
        if json:
            emit_json({**figures.to_json(), "changes": found.counts()})
        elif csv_file != Path("-"):
            out.print(_line(found))
            _render_summary(figures)
        return
    if json:
        emit_json(found.to_json())
    elif csv_file != Path("-"):
        _render(found)


def _refs(a: str, b: str) -> tuple[str, str | None, str | None]:
    from ..errors import InvalidInput
    from ..repository.refs import VERSION_NAME, Ref

    first = Ref.parse(a)
    second = Ref(first.trial, b) if VERSION_NAME.fullmatch(b) else Ref.parse(b)
    if second.trial != first.trial:
        raise InvalidInput(f"{a} and {b} are versions of different trials; ipd diff compares versions of one trial")
    return first.trial, first.version, second.version


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write_csv(found, target: Path) -> None:
    """Every change as CSV; text goes through ``csvsafe`` (a number stays a number, as in the data)."""
    lines = [csvsafe.row(CSV_HEADER)]

    def line(*values: Any) -> None:
        lines.append(csvsafe.row(values))

    def reason(correction: str | None) -> str:
        return found.corrections[correction].reason if correction else ""

    for c in found.cells:
        line("changed", _cell(c.key), c.column, _cell(c.old), _cell(c.new), c.correction, reason(c.correction))
    for what, records in (("added", found.added), ("removed", found.removed)):
        for r in records:
            line(what, _cell(r.key), "", "", "", r.correction, reason(r.correction))
    for what, columns in (("column added", found.columns_added), ("column removed", found.columns_removed)):
        for c in columns:
            line(what, "", c.column, "", "", c.correction, reason(c.correction))
    if target == Path("-"):
        sys.stdout.write("".join(lines))
    else:
        target.write_text("".join(lines), encoding="utf-8")


def _cell(value: Any) -> Any:
    """A value for ``csvsafe.row``, which neutralises text only: a number (-5) is passed as the number it is."""
    return _text(value) if isinstance(value, bool) else value


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _line(found) -> str:
    parts = [f"{_count(len(found.cells), 'cell')} changed", f"{_count(len(found.added), 'record')} added",
             f"{len(found.removed)} removed"]
    if found.columns_added:
        parts.append(f"{_count(len(found.columns_added), 'column')} added")
    if found.columns_removed:
        parts.append(f"{_count(len(found.columns_removed), 'column')} removed")
    read = len(found.parts_read)
    return (f"{found.trial}: {found.old} → {found.new}: {', '.join(parts)} "
            f"({_count(read, 'part')} of {read + found.parts_skipped} read)")


def _explained(found, correction: str | None) -> str:
    if correction is None:
        return "-"
    return escape(f"{correction}: {found.corrections[correction].reason}")


def _render(found) -> None:
    out.print(_line(found))
    if found.cells:
        table = Table("key", "column", "old", "new", "correction", title="changed cells", title_justify="left")
        for c in found.cells[:SHOWN]:
            table.add_row(escape(_text(c.key)), escape(c.column), escape(_text(c.old)), escape(_text(c.new)),
                          _explained(found, c.correction))
        out.print(table)
        if len(found.cells) > SHOWN:
            out.print(f"… and {len(found.cells) - SHOWN} more changed cells (see --json or --csv)")
    if found.added or found.removed:
        table = Table("key", "change", "correction", title="records", title_justify="left")
        for what, records in (("added", found.added), ("removed", found.removed)):
            for r in records:
                table.add_row(escape(_text(r.key)), what, _explained(found, r.correction))
        out.print(table)
    for what, columns in (("added", found.columns_added), ("removed", found.columns_removed)):
        for c in columns:
            out.print(f"column {what}: {escape(c.column)} ({_explained(found, c.correction)})")
    for c in found.columns_retyped:
        out.print(f"column retyped: {escape(c['column'])} ({c['old']} → {c['new']})")
    for name, table in found.tables.items():
        out.print(f"[bold]table {escape(name)}[/]")
        _render(table)


def _render_summary(figures) -> None:
    counts = [f for f in figures.figures if not f.figure.startswith("balance:")]
    balance = [f for f in figures.figures if f.figure.startswith("balance:")]
    table = Table("figure", "arm", figures.old, figures.new, "change", title="headline figures",
                  title_justify="left")
    for f in counts + [f for f in balance if f.moved]:
        change = "" if not f.moved else "moved" if f.old is None or f.new is None else _delta(f.new - f.old)
        table.add_row(escape(f.figure), "all" if f.arm is None else escape(str(f.arm)),
                      _text(f.old) or "-", _text(f.new) or "-", change)
    out.print(table)
    if balance:
        moved = sum(f.moved for f in balance)
        out.print(f"baseline balance: {moved} of {_count(len(balance), 'standardised difference')} moved "
                  f"(by {figures.to_json()['balance_move']} or more, or across {figures.threshold})")
    for note in figures.notes:
        out.print(f"note: {escape(note)}")


def _delta(value: float | int) -> str:
    return f"{value:+d}" if isinstance(value, int) else f"{value:+.4f}"
