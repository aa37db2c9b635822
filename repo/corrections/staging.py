"""Staging corrections for a trial's next version.

Each change is checked against the current (latest) version before it is
staged, and the value it replaces is recorded with it: an unknown key or
column, a value that does not fit the column's type or value set, a change to
a record staged for removal, or a key that would be duplicated is refused with
a one-line reason, and nothing is staged. Staged changes live in
``datasets/TRIAL/staged.jsonl`` (git ignores it, like an index) until
``ipd commit`` applies them; values a trialist supplied as a whole new
variable wait beside it in ``staged-files/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..backends import clock, parquet, rowkey
from ..backends.values import parse, same, to_json
from ..errors import InvalidInput, NotFound
from ..repository import Repository, layout
from . import log
from .changes import Change, Current
from .log import Correction

EXCLUDES = (layout.ALL_TRIALS.staged, f"{layout.ALL_TRIALS.staged_files}/")  # in git's info/exclude


def current(repo: Repository, trial: str, table: str | None = None,
            staged: list[Correction] | None = None) -> Current:
    """The latest version of ``trial`` (of its other table ``table``), as changes are checked against it."""
    dataset = repo.dataset(trial)
    version = dataset.version()
    tables = [t.name for t in version.record.tables]
    others = {name: version.table(name) for name in tables} if table is None else {}
    metadata = dataset.metadata()
    columns = metadata.columns
    if table is not None and table != version.record.participant_table:
        version = version.table(table)
        columns = (metadata.tables.get(table) or {}).get("columns") or []
    else:
        table = None
    files = version.part_files()
    record = version.record
    staged = log.read(repo.root / layout.trial(trial).staged) if staged is None else staged
    return Current(trial, record.version, record.key, record.participant_column, record.nparts,
                   parquet.read_schema(next(iter(files.values()))), files, {c["name"]: c for c in columns}, staged,
                   tables, table, others)


def stage(repo: Repository, trial: str, changes: list[Change]) -> list[Correction]:
    """Check every change, then stage them all (or none)."""
    if not changes:
        raise InvalidInput("nothing to stage: give --key/--column/--value, --remove, --add, --add-column or --file")
    repo.dataset(trial)  # the trial must exist before its folder is locked for writing
    with _staging(repo, trial):  # read, check and write under one lock: concurrent stagings all count
        staged = log.read(repo.root / layout.trial(trial).staged)
        _check_queries(repo, trial, changes)
        who, now = str(repo.scm.identity()), clock.now()
        number = log.next_number(staged, "s")
        made: list[Correction] = []
        for table in dict.fromkeys(change.table for change in changes):
            state = current(repo, trial, table, staged)
            mine = [change for change in changes if change.table == table]
            existing = _existing_records(state, mine)
            for change in mine:
                for entry in _entries(state, change, existing, who, now):
                    entry = replace(entry, id=f"s{number}")
                    _check_against_staged(state, entry, change)
                    staged.append(entry)
                    made.append(entry)
                    number += 1
        _write(repo, trial, staged, changes)
    return made


def staged(repo: Repository, trial: str) -> list[Correction]:
    repo.dataset(trial)  # the trial must exist
    return log.read(repo.root / layout.trial(trial).staged)


def drop(repo: Repository, trial: str, ids: list[str]) -> list[Correction]:
    """Unstage the entries ``ids`` (or every entry, for ``all``); returns what was dropped."""
    repo.dataset(trial)
    with _staging(repo, trial):
        entries = staged(repo, trial)
        wanted = {e.id for e in entries} if ids == ["all"] else set(ids)
        unknown = sorted(wanted - {e.id for e in entries})
        if unknown:
            raise NotFound(f"{trial}: nothing staged as {', '.join(unknown)} (see `ipd correct {trial} --list`)")
        kept = [e for e in entries if e.id not in wanted]
        _write(repo, trial, kept, [])
    return [e for e in entries if e.id in wanted]


# -- building entries --------------------------------------------------------------------------

def _entries(state: Current, change: Change, existing: dict, who: str, now: str) -> list[Correction]:
    where = state.label(change)
    if not change.reason or not change.reason.strip():
        raise InvalidInput(f"{where}{change.action} needs a reason (--reason)")
    if change.public_reason is not None and not change.public_reason.strip():
        raise InvalidInput(f"{where}the public reason is empty: leave --public-reason out if the reason is not "
                           "to be published")
    base = dict(reason=change.reason.strip(), query=change.query, author=who, time=now, base=state.version,
                public_reason=change.public_reason.strip() if change.public_reason is not None else None)
    if change.action == "add_column":
        return _add_columns(state, change, {**base, "table": state.table})
    base["table"] = state.table
    key = _key(state, change)
    if change.action == "update":
        return [_update(state, change, key, existing, base)]
    if change.action == "remove":
        if key not in existing:
            raise InvalidInput(f"{where}no record with key {rowkey.shown(key)} in {state.trial}@{state.version}")
        removed = Correction("", "remove", key, None, existing[key], None, **base)
        if state.table is None and state.tables:  # a participant leaves every table
            return [removed, *_records_elsewhere(state, existing[key][state.participant], base)]
        return [removed]
    if change.action == "add":
        if key in existing:
            raise InvalidInput(f"{where}duplicate key {rowkey.shown(key)}: {state.trial}@{state.version} "
                               "already has that record")
        return [Correction("", "add", key, None, None, _record(state, change), **base)]
    raise InvalidInput(f"unknown action {change.action!r}")


def _key(state: Current, change: Change) -> Any:
    where = state.label(change)
    if change.record is not None:
        return rowkey.value({c: _typed(state, c, change.record.get(c), f"{where}key ")
                             for c in rowkey.columns(state.key)}, state.key)
    if not change.key or (isinstance(change.key, str) and not change.key.strip()):
        raise InvalidInput(f"{where}{change.action} needs the participant's key (--key)")
    return rowkey.parse(change.key, state.key, state.kind, where)


def _update(state: Current, change: Change, key: Any, existing: dict, base: dict) -> Correction:
    where = state.label(change)
    column = change.column
    if not column:
        raise InvalidInput(f"{where}an update needs the column (--column)")
    if column not in state.schema.names:
        raise InvalidInput(f"{where}no column {column!r} in {state.trial}@{state.version}")
    if column in rowkey.columns(state.key):
        raise InvalidInput(f"{where}the key {column!r} cannot be updated: remove the record and add it again")
    if key not in existing:
        raise InvalidInput(f"{where}no record with key {rowkey.shown(key)} in {state.trial}@{state.version}")
    new = to_json(parse(change.value, state.kind(column), f"{where}column {column}"))
    _check_value_set(state, column, new, where)
    old = existing[key][column]
    if same(old, new):
        raise InvalidInput(f"{where}{rowkey.shown(key)}/{column} is already {old!r} in {state.trial}@{state.version}")
    return Correction("", "update", key, column, old, new, **base)


def _check_value_set(state: Current, column: str, value: Any, where: str) -> None:
    allowed = [v["value"] for v in state.dictionary.get(column, {}).get("values", [])]
    if value is None or not allowed or state.kind(column) == "boolean":
        return
    if not any(same(value, a) for a in allowed):
        shown = ", ".join(map(str, allowed))
        raise InvalidInput(f"{where}{value!r} is not in the value set of {column} ({shown}); "
                           f"if it is right, add it to the dictionary in {layout.trial(state.trial).metadata} first")


def _record(state: Current, change: Change) -> dict[str, Any]:
    where = state.label(change)
    record = change.record or {}
    unknown = [c for c in record if c not in state.schema.names]
    if unknown:
        raise InvalidInput(f"{where}no column {unknown[0]!r} in {state.trial}@{state.version}")
    full = {name: _typed(state, name, record.get(name), where) for name in state.schema.names}
    for name, value in full.items():
        _check_type(state, name, value, where)
        if name not in rowkey.columns(state.key):
            _check_value_set(state, name, value, where)
    return full


def _typed(state: Current, column: str, value: Any, where: str) -> Any:
    """A value from a file as JSON: text (from CSV) is parsed by the column's type."""
    if isinstance(value, str) and state.kind(column) != "string":
        return to_json(parse(value, state.kind(column), f"{where}column {column}"))
    return to_json(value)


def _check_type(state: Current, column: str, value: Any, where: str) -> None:
    """A value from a file must fit the column it goes into (a whole number for an integer, say)."""
    import pyarrow as pa

    from ..backends.values import from_json

    kind = state.kind(column)
    try:
        if kind == "integer" and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)  # Arrow would truncate 1.5 to 1 rather than refuse it
        pa.array([from_json(value, kind)], type=state.schema.field(column).type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError, ArithmeticError):
        raise InvalidInput(f"{where}column {column}: {value!r} is not a valid {kind} value") from None


def _add_columns(state: Current, change: Change, base: dict) -> list[Correction]:
    from .supplements import read_supplement

    supplement = read_supplement(change.supplement, state)
    entries = []
    for column, kind in supplement.columns.items():
        new = {"file": layout.staged_file(supplement.stored_name), "sha256": supplement.sha256,
               "type": kind, "rows": supplement.rows, "key_column": state.key, "value_column": column}
        entries.append(Correction("", "add_column", None, column, None, new, **base))
    return entries


# -- checks across entries ---------------------------------------------------------------------

def _records_elsewhere(state: Current, participant: Any, base: dict) -> list[Correction]:
    """The removals of a removed participant's records in the trial's other tables."""
    from ..versions.lookup import records_of_participant

    found = []
    for name, view in state.others.items():
        for record in records_of_participant(view.part_files(), view.record.participant_column,
                                             view.record.nparts, participant):
            found.append(Correction("", "remove", rowkey.value(record, view.record.key), None, record, None,
                                    **{**base, "table": name}))
    return found


def _check_against_staged(state: Current, entry: Correction, change: Change) -> None:
    where = state.label(change)
    for other in state.staged:
        if other.table != entry.table:
            continue
        if entry.action == "update" and other.action == "update" and other.cell == entry.cell:
            raise InvalidInput(f"{where}{entry.key!r}/{entry.column} is already staged to change ({other.id}); "
                               f"drop it first (ipd correct {state.trial} --drop {other.id})")
        if entry.action in ("update", "remove") and other.action == "remove" and other.key == entry.key:
            raise InvalidInput(f"{where}record {entry.key!r} is staged for removal ({other.id})")
        if entry.action == "remove" and other.action == "update" and other.key == entry.key:
            raise InvalidInput(f"{where}record {entry.key!r} has a staged change ({other.id}); drop it before removing the record")
        if entry.action == "add" and other.action == "add" and other.key == entry.key:
            raise InvalidInput(f"{where}duplicate key {entry.key!r}: already staged to be added ({other.id})")
        if entry.action == "add_column" and other.action == "add_column" and other.column == entry.column:
            raise InvalidInput(f"{where}column {entry.column!r} is already staged to be added ({other.id})")


def _existing_records(state: Current, changes: list[Change]) -> dict[Any, dict[str, Any]]:
    """The current records of every key the changes name, read from just their parts."""
    from ..versions.lookup import records

    keys = []
    for change in changes:
        if change.action in ("update", "remove", "add"):
            keys.append(_key(state, change))
    return records(state.files, state.key, state.participant, state.nparts, [k for k in keys if k is not None])


def _check_queries(repo: Repository, trial: str, changes: list[Change]) -> None:
    from .queries import find

    for qid in sorted({c.query for c in changes if c.query}):
        query = find(repo, qid)
        if query.trial != trial:
            raise InvalidInput(f"query {qid} is about {query.trial}, not {trial}")


# -- writing -----------------------------------------------------------------------------------

@contextmanager
def _staging(repo: Repository, trial: str) -> Iterator[None]:
    """The lock and transaction of one change to the staging area, all or nothing."""
    paths = layout.trial(trial)
    with repo.writing([paths.staged, paths.staged_files]):
        _exclude_from_git(repo)
        yield


def _write(repo: Repository, trial: str, entries: list[Correction], changes: list[Change]) -> None:
    """Replace the staging area (and keep any supplied files); the caller holds ``_staging``."""
    paths = layout.trial(trial)
    log.write_staged(repo.root / paths.staged, entries)
    _keep_supplements(repo.root / paths.staged_files, entries, changes)


def _keep_supplements(files: Path, entries: list[Correction], changes: list[Change]) -> None:
    from .supplements import stored_name

    wanted = {e.new["file"].split("/", 1)[1] for e in entries if e.action == "add_column"}
    for change in changes:
        if change.supplement is not None:
            name = stored_name(change.supplement)
            if name in wanted and not (files / name).exists():
                files.mkdir(exist_ok=True)
                shutil.copyfile(change.supplement, files / name)
    if files.is_dir():
        for path in files.iterdir():
            if path.name not in wanted:
                path.unlink()
        if not any(files.iterdir()):
            files.rmdir()


def _exclude_from_git(repo: Repository) -> None:
    """The staging area is the curator's own, like git's index: keep it out of commits."""
    exclude = repo.scm.git_dir / layout.GIT_EXCLUDE
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    missing = [p for p in EXCLUDES if p not in lines]
    if missing:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text("\n".join([*lines, *missing]) + "\n")

