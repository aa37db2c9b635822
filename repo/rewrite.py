"""Rewriting only the Parquet parts that corrections touch.

A participant's part is fixed by the partitioning, so the parts to rewrite are
known from the keys alone; every other part, and its recorded digest, carries
over unchanged (DVC stores it once). A new variable touches every part. The
fingerprint is the sum of the part digests, so only rewritten parts are hashed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .apply import apply, target_schema
from .correctionlog import Correction
from .errors import InvalidInput
from .fingerprint import EMPTY, Digest, digests_by, fingerprint
from .lookup import parts_of
from .parts import write_part
from .versions import PartRecord, VersionRecord


@dataclass(frozen=True)
class Rewritten:
    parts: list[PartRecord]  # the parts written anew
    parts_all: list[PartRecord]  # every part of the new version, by name
    schema: pa.Schema
    rows: int
    fingerprint: str
    files: list[Path]  # every part's file in the work tree


def rewrite_parts(folder: Path, parent: VersionRecord, entries: list[Correction],
                  advance: Callable[[int], None] = lambda n: None) -> Rewritten:
    """Apply ``entries`` to the parts under ``folder/data`` (the parent's, checked out)."""
    data = folder / "data"
    schema = pq.read_schema(data / parent.parts[0].name)
    key_type = schema.field(parent.key).type
    supplements = _supplements(folder, entries, parent.key, key_type)
    schema = target_schema(schema, {name: table.schema.field(1).type for name, table in supplements.items()})
    by_part = _entries_by_part(entries, parent, key_type)
    if supplements:  # a new variable touches every part
        for part in parent.parts:
            by_part.setdefault(part.name, [])
    kept = {p.name: p for p in parent.parts if p.name not in by_part}
    written: list[PartRecord] = []
    for name in sorted(by_part):
        path = data / name
        table = pq.read_table(path) if path.exists() else None
        new = apply(table, by_part[name], parent.key, schema, supplements)
        if new.num_rows:
            written.append(_write(new, path, name))
        else:
            path.unlink(missing_ok=True)  # empty parts are not stored
        advance(1)
    every = sorted([*kept.values(), *written], key=lambda p: p.name)
    rows = sum(p.rows for p in every)
    if rows == 0:
        raise InvalidInput(f"the corrections would remove every record of {parent.trial}")
    total = sum((Digest(p.rows, int(p.sum, 16)) for p in every), EMPTY)
    return Rewritten(written, every, schema, rows, fingerprint(schema, total), [data / p.name for p in every])


def _entries_by_part(entries: list[Correction], parent: VersionRecord, key_type: pa.DataType) -> dict:
    keyed = [e for e in entries if e.action != "add_column"]
    where = parts_of([e.key for e in keyed], parent.key, key_type, parent.nparts)
    by_part: dict[str, list[Correction]] = defaultdict(list)
    for entry in keyed:
        by_part[where[_lookup_key(entry.key, where)]].append(entry)
    return by_part


def _lookup_key(key, where: dict):
    """The key as ``parts_of`` returned it (a date key comes back as a date, say)."""
    if key in where:
        return key
    from .values import to_json

    return next(k for k in where if to_json(k) == key)


def _supplements(folder: Path, entries: list[Correction], key: str, key_type: pa.DataType) -> dict[str, pa.Table]:
    """Each added variable as a (key, values) table read from the file it was supplied in."""
    from .supplements import load

    tables: dict[str, pa.Table] = {}
    loaded: dict[str, pa.Table] = {}
    for entry in entries:
        if entry.action != "add_column":
            continue
        file = entry.new["file"]
        if file not in loaded:
            loaded[file] = load(folder / file, key, key_type)
        table = loaded[file]
        tables[entry.column] = pa.table({key: table.column(key).combine_chunks(),
                                         entry.column: table.column(entry.new["value_column"]).combine_chunks()})
    return tables


def _write(table: pa.Table, path: Path, name: str) -> PartRecord:
    import duckdb

    md5, size = write_part(table, path)
    con = duckdb.connect()
    con.register("part", table)
    digest = digests_by(con, "part", table.schema).get(0, EMPTY)
    return PartRecord(name, md5, size, digest.rows, f"{digest.total:032x}")
