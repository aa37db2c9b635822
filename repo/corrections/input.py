"""Corrections as curators supply them in files, turned into changes to stage.

A CSV of cell corrections has a header ``key,column,value,reason`` (for a
trial keyed by several columns, those columns by name instead of ``key``:
``id,enum,column,value,reason``) and
optionally ``query``, ``action`` (``update``, the default, or ``remove``) and
``public_reason`` (the reason as release notes may publish it; an empty cell
leaves the correction out of them);
its cells are read as text, so each value is typed by the column it goes into,
exactly as a value given on the command line. Records to add come in any
delivery format, typed by its reader.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import InvalidInput
from .changes import Change

REQUIRED = ("key", "column", "value", "reason")
OPTIONAL = ("query", "action", "public_reason")


def changes_from_csv(path: Path) -> list[Change]:
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{path}: cannot be read as CSV ({exc})") from exc
    if not rows:
        raise InvalidInput(f"{path}: the file is empty")
    header = [name.strip() for name in rows[0]]
    header = [name.lower() if name.lower() in REQUIRED + OPTIONAL else name for name in header]
    key_columns = [name for name in header if name not in REQUIRED + OPTIONAL]  # a composite key's, by name
    missing = [name for name in REQUIRED if name not in header and not (name == "key" and key_columns)]
    if missing:
        raise InvalidInput(f"{path}: no {', '.join(missing)} column; the header must be "
                           f"{','.join(REQUIRED)}[,query][,action][,public_reason]")
    if key_columns and "key" in header:
        raise InvalidInput(f"{path}: unknown column {key_columns[0]!r}; expected {','.join(REQUIRED + OPTIONAL)} "
                           "(or the key's columns by name in place of key)")
    changes = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InvalidInput(f"{path}, line {line}: {len(row)} fields, the header has {len(header)}")
        cells = dict(zip(header, row))
        action = (cells.get("action") or "update").strip().lower()
        if action not in ("update", "remove"):
            raise InvalidInput(f"{path}, line {line}: action {action!r} must be update or remove")
        key = {name: cells[name] for name in key_columns} if key_columns else cells["key"]
        changes.append(Change(action=action, reason=cells["reason"], key=key,
                              column=cells["column"].strip() or None, value=cells["value"],
                              query=(cells.get("query") or "").strip() or None, where=f"{path}, line {line}",
                              public_reason=(cells.get("public_reason") or "").strip() or None))
    if not changes:
        raise InvalidInput(f"{path}: no corrections in the file")
    return changes


def records_from_file(path: Path, reason: str, query: str | None, public_reason: str | None = None) -> list[Change]:
    """One ``add`` change per record of a file in any delivery format.

    CSV and TSV cells are kept as text, to be typed by the trial's columns: a
    sniffer would guess from a few rows (one row of ``F`` looks boolean).
    """
    from ..backends.formats import detect, read

    if detect(path) in ("csv", "tsv") and path.is_file():
        records = _text_records(path, "\t" if detect(path) == "tsv" else ",")
    else:
        records = read(path).table.to_pylist()
    if not records:
        raise InvalidInput(f"{path}: no records in the file")
    return [Change(action="add", reason=reason, query=query, record=record, where=f"{path}, row {row}",
                   public_reason=public_reason)
            for row, record in enumerate(records, start=1)]


def _text_records(path: Path, delimiter: str) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle, delimiter=delimiter))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{path}: cannot be read as CSV ({exc})") from exc
