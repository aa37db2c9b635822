"""Rewriting only the Parquet parts that corrections touch.

A participant's part is fixed by the partitioning, so the parts to rewrite are
known from the keys alone; every other part, and its recorded digest, carries
over unchanged (DVC stores it once). A new variable touches every part. The
fingerprint is the sum of the part digests, so only rewritten parts are hashed.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ..backends import parquet, rowkey
from ..backends.rowkey import Key
from ..backends.sql import connect
from ..errors import InvalidInput
from ..repository import layout
from ..repository.fingerprint import EMPTY, MASK, Digest, digests_by, fingerprint
from ..repository.records import PartRecord, VersionRecord
from ..versions.lookup import parts_of
from ..versions.parts import PART_COLUMN, part_expression, part_name, write_part
from .apply import apply, prepare, target_schema
from .log import Correction

WORKERS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class Rewritten:
    parts: list[PartRecord]  # the parts written anew
    parts_all: list[PartRecord]  # every part of the new version, by name
    schema: pa.Schema
    rows: int
    fingerprint: str
    files: list[Path]  # every part's file: rewritten ones in the work tree, the rest in the DVC cache


def rewrite_parts(folder: Path, parent: VersionRecord, parent_files: dict[str, Path], entries: list[Correction],
                  advance: Callable[[int], None] = lambda n: None, data: Path | None = None) -> Rewritten:
    """Write the parts ``entries`` touch into ``data`` (``folder/data``; another table's folder for its
    entries), reading the parent's parts from ``parent_files`` (the DVC cache, where they are as recorded,
    whatever the work tree holds)."""
    data = data or folder / layout.DATA
    data.mkdir(parents=True, exist_ok=True)
    schema = parquet.read_schema(parent_files[parent.parts[0].name])
    supplements = _supplements(folder, entries, parent.key, schema)
    schema = target_schema(schema, {name: table.schema.field(1).type for name, table in supplements.items()})
    by_part = _entries_by_part(entries, parent, parent_files)
    if supplements:  # a new variable touches every part
        for part in parent.parts:
            by_part.setdefault(part.name, [])
    kept = {p.name: p for p in parent.parts if p.name not in by_part}
    written: dict[str, tuple[str, int]] = {}
    delta = _Delta(parent.key, parent.participant_column) if not supplements else None
    prepared = prepare(entries, parent.key, schema)

    def rewrite(name: str) -> tuple[str, pa.Table | None, pa.Table, tuple[str, int] | None]:
        path = data / name
        table = parquet.read_file(parent_files[name]) if name in parent_files else None
        new = apply(table, by_part[name], parent.key, schema, supplements, prepared)
        if new.num_rows:
            return name, table, new, write_part(new, path)
        path.unlink(missing_ok=True)  # empty parts are not stored
        return name, table, new, None

    # Reading, applying and zstd-writing a part all release the GIL: two parts at a time.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for name, table, new, stored in pool.map(rewrite, sorted(by_part)):
            if delta is not None:
                delta.note(table, new, prepared.touched)
            if stored is not None:
                written[name] = stored
            advance(1)
    if delta is not None:
        rewritten = delta.records(parent, written)
    else:
        rewritten = _records(data, written, schema)
    every = sorted([*kept.values(), *rewritten], key=lambda p: p.name)
    rows = sum(p.rows for p in every)
    if rows == 0:
        raise InvalidInput(f"the corrections would remove every record of {parent.trial}")
    total = sum((Digest(p.rows, int(p.sum, 16)) for p in every), EMPTY)
    files = [data / p.name if p.name in written else parent_files[p.name] for p in every]
    return Rewritten(rewritten, every, schema, rows, fingerprint(schema, total), files)


def _entries_by_part(entries: list[Correction], parent: VersionRecord, parent_files: dict[str, Path]) -> dict:
    from ..versions.lookup import key_type

    keyed = [e for e in entries if e.action != "add_column"]
    con = connect()
    participant = parent.participant_column
    at = rowkey.columns(parent.key).index(participant)
    of = (lambda k: k) if not rowkey.composite(parent.key) else (lambda k: k[at])
    sql_type = key_type(con, parent_files[parent.parts[0].name], participant)
    where = parts_of(con, [of(e.key) for e in keyed], sql_type, parent.nparts)
    by_part: dict[str, list[Correction]] = defaultdict(list)
    for entry in keyed:
        by_part[where[of(entry.key)]].append(entry)
    return by_part


def _supplements(folder: Path, entries: list[Correction], key: Key, schema: pa.Schema) -> dict[str, pa.Table]:
    """Each added variable as a (key, values) table read from the file it was supplied in."""
    from .supplements import load

    tables: dict[str, pa.Table] = {}
    loaded: dict[str, pa.Table] = {}
    for entry in entries:
        if entry.action != "add_column":
            continue
        file = entry.new["file"]
        if file not in loaded:
            loaded[file] = load(folder / file, key, schema)
        table = loaded[file]
        keys = rowkey.arrow(table, key)  # matched as ``apply`` matches a part's rows
        tables[entry.column] = pa.table({"__ipd_key": keys.combine_chunks() if isinstance(keys, pa.ChunkedArray)
                                         else keys,
                                         entry.column: table.column(entry.new["value_column"]).combine_chunks()})
    return tables


class _Delta:
    """A rewritten part's digest as its parent's, less the touched rows before, plus them after.

    Row hashes are summed, so only the rows a correction touches need hashing: a
    hundred rows instead of every row of every rewritten part. (A new variable
    changes every row, and is hashed in full by ``_records``.)
    """

    def __init__(self, key: Key, participant: str) -> None:
        self.key = key
        self.participant = participant
        self.before: list[pa.Table] = []
        self.after: list[pa.Table] = []

    def note(self, old: pa.Table | None, new: pa.Table, keys: pa.Array) -> None:
        """Keep the rows of ``keys`` (every touched key: those of other parts match nothing here)."""
        import pyarrow.compute as pc

        for table, into in ((old, self.before), (new, self.after)):
            if table is not None:
                touched = table.filter(pc.is_in(rowkey.arrow(table, self.key), value_set=keys))
                into.append(touched)

    def records(self, parent: VersionRecord, written: dict[str, tuple[str, int]]) -> list[PartRecord]:
        con = connect()
        sums = {p.name: Digest(p.rows, int(p.sum, 16)) for p in parent.parts}
        minus, plus = (self._digests(con, tables, parent.nparts) for tables in (self.before, self.after))
        records = []
        for name, (md5, size) in sorted(written.items()):
            before, taken, added = sums.get(name, EMPTY), minus.get(name, EMPTY), plus.get(name, EMPTY)
            total = (before.total - taken.total + added.total) & MASK
            records.append(PartRecord(name, md5, size, before.rows - taken.rows + added.rows, f"{total:032x}"))
        return records

    def _digests(self, con, tables: list[pa.Table], nparts: int) -> dict[str, Digest]:
        """Digests of the touched rows by part, the part found from the key as everywhere."""
        tables = [t for t in tables if t.num_rows]
        if not tables:
            return {}
        rows = pa.concat_tables(tables)
        con.register("touched", rows)
        con.sql(f"SELECT *, {part_expression(self.participant, nparts)} AS {PART_COLUMN} FROM touched"
                ).create_view("by_part")
        return {part_name(index): digest for index, digest in digests_by(con, "by_part", rows.schema,
                                                                           group=PART_COLUMN).items()}


def _records(data: Path, written: dict[str, tuple[str, int]], schema: pa.Schema) -> list[PartRecord]:
    """Records of the parts just written, their digests computed in one pass over all of them."""
    from ..repository.verification import FILE_COLUMN

    if not written:
        return []
    files = {str(data / name): name for name in written}
    con = connect()
    con.sql(f"SELECT * FROM read_parquet($files, filename = '{FILE_COLUMN}')",
            params={"files": list(files)}).create_view("written")
    digests = digests_by(con, "written", schema, group=FILE_COLUMN)
    records = []
    for path, name in files.items():
        md5, size = written[name]
        digest = digests[path]
        records.append(PartRecord(name, md5, size, digest.rows, f"{digest.total:032x}"))
    return records
