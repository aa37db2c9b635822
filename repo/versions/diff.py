"""Cell-level diffs between two versions of a trial, reading only the parts that differ.

A participant always lives in the same-named part (see ``parts``) and parts
whose MD5s agree hold identical rows, so a diff of a ten-million-row trial
after a hundred corrections reads a hundred small parts, never the rest: the
differing parts of each side go to DuckDB in one FULL OUTER JOIN on the key.
Values are compared in their canonical form (``columns``), so re-storing an
integer in fewer bits is not a change. ``diff_parts`` knows nothing of the
repository or the correction log: ``ipd commit`` and ``ipd validate`` call it to
compare a version with its parent; ``diff`` adds which log entry explains each
change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import parquet, rowkey
from ..backends.columns import (
    CANONICAL_SQL,
    DECIMAL,
    INTEGER,
    NUMBER,
    quote,
    type_class,
)
from ..backends.rowkey import Key
from ..backends.sql import connect
from ..backends.values import same, to_json
from ..corrections.log import Correction
from ..errors import InvalidInput
from ..repository.records import VersionRecord

if TYPE_CHECKING:
    import pyarrow as pa

    from ..repository import Repository

NUMERIC = (INTEGER, NUMBER, DECIMAL)


@dataclass(frozen=True)
class CellChange:
    key: Any  # as in the data (JSON value)
    column: str
    old: Any
    new: Any
    correction: str | None = None  # the log entry that explains it


@dataclass(frozen=True)
class RecordChange:
    key: Any
    correction: str | None = None


@dataclass(frozen=True)
class ColumnChange:
    column: str
    correction: str | None = None


@dataclass
class Diff:
    trial: str
    old: str  # the version diffed from ("from" in JSON)
    new: str  # the version diffed to ("to")
    key: Key
    cells: list[CellChange] = field(default_factory=list)  # by key, then the new version's column order
    added: list[RecordChange] = field(default_factory=list)  # by key
    removed: list[RecordChange] = field(default_factory=list)
    columns_added: list[ColumnChange] = field(default_factory=list)
    columns_removed: list[ColumnChange] = field(default_factory=list)
    columns_retyped: list[dict[str, str]] = field(default_factory=list)  # {"column", "old", "new"} type classes
    parts_read: list[str] = field(default_factory=list)  # names of the parts whose hashes differ
    parts_skipped: int = 0
    corrections: dict[str, Correction] = field(default_factory=dict)  # the entries named above, by id
    tables: dict[str, Diff] = field(default_factory=dict)  # a trial's other tables, those both versions have

    @property
    def empty(self) -> bool:
        return not (self.cells or self.added or self.removed or self.columns_added or self.columns_removed)

    def counts(self) -> dict[str, Any]:
        """What a version record keeps of a diff (``changes``)."""
        return {"cells": len(self.cells), "added": len(self.added), "removed": len(self.removed),
                "columns_added": [c.column for c in self.columns_added],
                "columns_removed": [c.column for c in self.columns_removed]}

    def to_json(self) -> dict[str, Any]:
        """The fields DESIGN.md promises for ``ipd diff --json``, then the details."""
        return {
            "trial": self.trial, "from": self.old, "to": self.new, "key": self.key,
            "cells": [{"key": c.key, "column": c.column, "old": c.old, "new": c.new, "correction": c.correction}
                      for c in self.cells],
            "added": [r.key for r in self.added],
            "removed": [r.key for r in self.removed],
            "columns_added": [c.column for c in self.columns_added],
            "columns_removed": [c.column for c in self.columns_removed],
            "columns_retyped": self.columns_retyped,
            "explained": {
                "added": [{"key": r.key, "correction": r.correction} for r in self.added],
                "removed": [{"key": r.key, "correction": r.correction} for r in self.removed],
                "columns_added": [{"column": c.column, "correction": c.correction} for c in self.columns_added],
                "columns_removed": [{"column": c.column, "correction": c.correction}
                                    for c in self.columns_removed],
            },
            "corrections": {i: {"action": e.action, "reason": e.reason, "query": e.query, "author": e.author,
                                "version": e.version} for i, e in self.corrections.items()},
            "parts": {"read": len(self.parts_read), "skipped": self.parts_skipped},
            **({"tables": {name: d.to_json() for name, d in self.tables.items()}} if self.tables else {}),
        }


def changed_parts(old: VersionRecord, new: VersionRecord) -> list[str]:
    """Names of the parts whose rows may differ; all of them when the partitioning differs."""
    before = {p.name: p.md5 for p in old.parts}
    after = {p.name: p.md5 for p in new.parts}
    names = sorted(set(before) | set(after))
    if old.nparts != new.nparts:
        return names
    return [n for n in names if before.get(n) != after.get(n)]


def diff_parts(old: VersionRecord, old_files: dict[str, Path], new: VersionRecord,
               new_files: dict[str, Path]) -> Diff:
    """What changed from ``old`` to ``new``; only the files of parts whose MD5s differ are read.

    ``old_files`` and ``new_files`` map part names to local paths; they need only hold the
    parts ``changed_parts`` names.
    """
    if old.key != new.key:
        raise InvalidInput(f"{old.trial}@{old.version} is keyed by {rowkey.named(old.key)} and {new.trial}@"
                           f"{new.version} by {rowkey.named(new.key)}: records can only be compared by the same key")
    names = changed_parts(old, new)
    result = Diff(old.trial, old.version, new.version, new.key, parts_read=names,
                  parts_skipped=len({p.name for p in old.parts} | {p.name for p in new.parts}) - len(names))
    result.columns_added = [ColumnChange(c) for c in new.columns if c not in old.columns]
    result.columns_removed = [ColumnChange(c) for c in old.columns if c not in new.columns]
    before = [old_files[n] for n in names if n in {p.name for p in old.parts}]
    after = [new_files[n] for n in names if n in {p.name for p in new.parts}]
    if before or after:
        _compare(result, before, after,
                 [c for c in new.columns if c in old.columns and c not in rowkey.columns(new.key)])
    return result


def _compare(result: Diff, before: list[Path], after: list[Path], common: list[str]) -> None:
    key = result.key
    con = connect()
    sides = {}
    for alias, files in (("o", before), ("n", after)):
        if files:
            sides[alias] = parquet.read_schema(files[0])
            con.sql("SELECT * FROM read_parquet($files, union_by_name = true)",
                    params={"files": [str(f) for f in files]}).create_view(alias)
    if len(sides) == 1:  # the parts exist on one side only: every record in them is added or removed
        (alias,) = sides
        keys = [to_json(k) for (k,) in con.sql(f"SELECT {rowkey.sql(key)} FROM {alias} ORDER BY 1").fetchall()]
        (result.added if alias == "n" else result.removed).extend(RecordChange(k) for k in keys)
        return
    old_schema, new_schema = sides["o"], sides["n"]
    names = rowkey.columns(key)
    pairs = [_comparable(c, old_schema.field(c).type, new_schema.field(c).type) for c in names]
    on = " AND ".join(f"{ok} = {nk}" for ok, nk in pairs)
    ok, nk = (_stored_key("o", names), _stored_key("n", names))
    # Every output column gets a name of its own: data columns may be called anything.
    selected, flags = [f"{ok} AS __ipd_ok", f"{nk} AS __ipd_nk"], []
    for i, column in enumerate(common):
        left, right = _comparable(column, old_schema.field(column).type, new_schema.field(column).type)
        selected += [f"o.{quote(column)} AS __ipd_o{i}", f"n.{quote(column)} AS __ipd_n{i}",
                     f"({left}) IS DISTINCT FROM ({right}) AS __ipd_d{i}"]
        flags.append(f"__ipd_d{i}")
        old_class, new_class = type_class(old_schema.field(column).type), type_class(new_schema.field(column).type)
        if old_class != new_class:
            result.columns_retyped.append({"column": column, "old": old_class, "new": new_class})
    changed = " OR ".join(["__ipd_ok IS NULL", "__ipd_nk IS NULL", *flags])
    rows = con.sql(
        f"SELECT * FROM (SELECT {', '.join(selected)}, coalesce({nk}, {ok}) AS __ipd_order "
        f"FROM o FULL OUTER JOIN n ON {on}) WHERE {changed} ORDER BY __ipd_order"
    ).fetchall()
    for row in rows:
        old_key, new_key = row[0], row[1]
        if old_key is None:
            result.added.append(RecordChange(to_json(new_key)))
        elif new_key is None:
            result.removed.append(RecordChange(to_json(old_key)))
        else:
            for i, column in enumerate(common):
                before_value, after_value, differs = row[2 + 3 * i: 5 + 3 * i]
                if differs:
                    result.cells.append(CellChange(to_json(new_key), column, to_json(before_value),
                                                   to_json(after_value)))


def _stored_key(alias: str, names: list[str]) -> str:
    """A side's key as stored, NULL where the join found no row on that side (a row of NULLs is not NULL)."""
    if len(names) == 1:
        return f"{alias}.{quote(names[0])}"
    return f"CASE WHEN {alias}.{quote(names[0])} IS NULL THEN NULL ELSE {rowkey.sql(names, alias + '.')} END"


def _comparable(column: str, old_type: pa.DataType, new_type: pa.DataType) -> tuple[str, str]:
    """SQL for the old and new value in one canonical form; NaN counts as missing, as in the logs.

    Columns stored alike are compared as stored: casting costs more than the join itself.
    """
    old_class, new_class = type_class(old_type), type_class(new_type)
    if old_type == new_type and old_class != NUMBER:
        return "o." + quote(column), "n." + quote(column)
    if old_class == new_class:
        template = CANONICAL_SQL[old_class]
        if old_class == NUMBER:
            template = "CASE WHEN isnan({c}) THEN NULL ELSE CAST({c} AS DOUBLE) END"
    elif old_class in NUMERIC and new_class in NUMERIC:  # 3 and 3.0 are the same number
        template = "CASE WHEN isnan(CAST({c} AS DOUBLE)) THEN NULL ELSE CAST({c} AS DOUBLE) END"
    else:
        return (f"CAST({CANONICAL_SQL[old_class].format(c='o.' + quote(column))} AS VARCHAR)",
                f"CAST({CANONICAL_SQL[new_class].format(c='n.' + quote(column))} AS VARCHAR)")
    return template.format(c="o." + quote(column)), template.format(c="n." + quote(column))


# --- between versions of a repository, explained by the correction log -----------------------------

def diff(repo: Repository, trial: str, a: str, b: str) -> Diff:
    """``trial`` from version ``a`` to version ``b`` (either order), each change with its log entry."""
    from ..corrections import log as correctionlog

    dataset = repo.dataset(trial)
    old, new = dataset.version(a), dataset.version(b)
    names = changed_parts(old.record, new.record)
    result = diff_parts(old.record, _files(old, names), new.record, _files(new, names))
    for name in [t for t in new.record.table_names[1:] if t in old.record.table_names]:
        before, after = old.table(name), new.table(name)
        changed = changed_parts(before.record, after.record)
        result.tables[name] = diff_parts(before.record, _files(before, changed), after.record, _files(after, changed))
    low, high = sorted((old.record.number, new.record.number))
    entries = [e for e in correctionlog.read(repo.root / dataset.layout.log)
               if e.version and low < _number(e.version) <= high]
    forward = new.record.number >= old.record.number
    for name, table in result.tables.items():
        result.tables[name] = explain(table, [e for e in entries if e.table == name], forward)
    result = explain(result, [e for e in entries if e.table is None], forward)
    if old.record.sources and new.record.sources:  # a topic's pooled versions: traced to the trials' corrections
        from ..topics.trace import explain as trace

        result = trace(repo, result, old.record, new.record)
    return result


def _number(version: str) -> int:
    from ..repository.refs import version_number

    return version_number(version)


def _files(version, names: list[str]) -> dict[str, Path]:
    """Local paths of the named parts only, fetched when missing: the others are never touched."""
    from ..backends import storage
    from ..errors import IntegrityError

    root, record = version.repo.root, version.record
    wanted = [p for p in record.parts if p.name in set(names)]
    paths = {p.name: storage.cache_path(root, p.md5) for p in wanted}
    missing = [p.md5 for p in wanted if not paths[p.name].exists()]
    if missing:
        storage.fetch(root, missing)
    absent = [name for name, path in paths.items() if not path.exists()]
    if absent:
        raise IntegrityError(f"{record.trial}@{record.version}: part {absent[0]} is in neither the DVC cache "
                             "nor the remote")
    return paths


def _k(key: Any) -> str:
    return json.dumps(to_json(key), sort_keys=True)


def explain(result: Diff, entries: list[Correction], forward: bool = True) -> Diff:
    """Each change with the last entry that touched it, when that entry left what the later version holds.

    ``entries`` are those applied between the two versions, in log order. An entry
    overtaken by a re-delivery (its value is not the later version's) explains nothing.
    """
    cells: dict[tuple[str, str], tuple[int, Correction]] = {}
    records: dict[str, tuple[int, Correction]] = {}
    columns: dict[str, tuple[int, Correction]] = {}
    for index, entry in enumerate(entries):
        if entry.action == "update":
            cells[(_k(entry.key), entry.column)] = (index, entry)
        elif entry.action in ("add", "remove"):
            records[_k(entry.key)] = (index, entry)
        else:
            columns[entry.column] = (index, entry)
    used: dict[str, Correction] = {}

    def named(found: tuple[int, Correction] | None, fits: bool) -> str | None:
        if found is None or not fits:
            return None
        used[found[1].id] = found[1]
        return found[1].id

    def cell(change: CellChange) -> CellChange:
        later = change.new if forward else change.old
        found = max(filter(None, [cells.get((_k(change.key), change.column)), records.get(_k(change.key))]),
                    key=lambda f: f[0], default=None)
        entry = found[1] if found else None
        fits = entry is not None and (
            (entry.action == "update" and same(entry.new, later))
            or (entry.action == "add" and isinstance(entry.new, dict) and same(entry.new.get(change.column), later)))
        return replace(change, correction=named(found, fits))

    def record(change: RecordChange, present_later: bool) -> RecordChange:
        found = records.get(_k(change.key))
        return replace(change, correction=named(found, found is not None and
                                                (found[1].action == "add") == present_later))

    def column(change: ColumnChange, present_later: bool) -> ColumnChange:
        found = columns.get(change.column)
        return replace(change, correction=named(found, found is not None and present_later))

    result.cells = [cell(c) for c in result.cells]
    result.added = [record(r, forward) for r in result.added]
    result.removed = [record(r, not forward) for r in result.removed]
    result.columns_added = [column(c, forward) for c in result.columns_added]
    result.columns_removed = [column(c, not forward) for c in result.columns_removed]
    result.corrections = dict(sorted(used.items(), key=lambda item: _order(item[0])))
    return result


def _order(entry_id: str) -> tuple[int, str]:
    digits = entry_id.lstrip("cs")
    return (int(digits) if digits.isdigit() else 0, entry_id)
