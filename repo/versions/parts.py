"""Rows split into Parquet parts by a stable hash of the participant column.

A participant's part is MD5(participant as text) modulo the number of parts,
fixed when the trial is first ingested; all of a participant's rows (episodes,
visits) share it. For a one-column key the participant column is the key. A correction therefore rewrites only the
parts holding the touched participants, DVC stores the untouched parts once,
and a diff skips parts whose hashes agree. Within a part rows are ordered by
key and written with fixed settings, so the same rows give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ..backends import parquet, rowkey
from ..backends.columns import quote
from ..backends.rowkey import Key
from ..backends.sql import connect
from ..repository.fingerprint import Digest, digests_by

if TYPE_CHECKING:
    from ..backends.sql import Connection

PART_ROWS = 16_384
MAX_PARTS = 4_096
PART_COLUMN = "__ipd_part"
ROW_COLUMN = "__ipd_row"


def parts_for(rows: int) -> int:
    """A power of two giving about PART_ROWS rows a part; small trials are one part."""
    parts = 1
    while parts * PART_ROWS < rows and parts < MAX_PARTS:
        parts *= 2
    return parts


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def part_expression(key: str, parts: int) -> str:
    return f"CAST(md5_number_lower(CAST({quote(key)} AS VARCHAR)) % {parts} AS INTEGER)"


@dataclass(frozen=True)
class Part:
    name: str
    md5: str
    size: int
    rows: int
    digest: Digest


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_part(table: pa.Table, path: Path) -> tuple[str, int]:
    """Write one part; returns its MD5 (the same hash DVC stores it under) and size."""
    data = parquet.encode(table)
    _write_atomic(path, data)
    return hashlib.md5(data).hexdigest(), len(data)


def write_parts(table: pa.Table, key: Key, participant: str, parts: int, out: Path,
                advance: Callable[[int], None] = lambda n: None) -> list[Part]:
    """Split ``table`` into its parts under ``out``; empty parts are not written.

    Rows go to the part of their participant, so all of a participant's rows are in one part.
    Only the row numbers are sorted (by part, then key); each part's rows are gathered from
    ``table`` as it is written, so a delivery is never held twice (a sorted copy of a
    100,000-row, 2,000-column delivery took 3 GB more).
    """
    out.mkdir(parents=True, exist_ok=True)
    con = connect()
    con.register("delivery", table)
    con.sql(f"SELECT *, {part_expression(participant, parts)} AS {PART_COLUMN} FROM delivery").create_view("by_part")
    digests = digests_by(con, "by_part", table.schema, group=PART_COLUMN)
    order, rows = _order(con, table, key, participant, parts), _Rows(table)
    written, offset = [], 0
    for index in sorted(digests):
        digest = digests[index]
        name = part_name(index)
        con.register("part", rows.take(order[offset:offset + digest.rows]))
        # Through DuckDB, as the rows always went: the same Arrow types whatever the format gave.
        md5, size = write_part(con.sql("SELECT * FROM part").to_arrow_table(), out / name)
        written.append(Part(name, md5, size, digest.rows, digest))
        offset += digest.rows
        advance(1)
    return written


def _order(con: Connection, table: pa.Table, key: Key, participant: str, parts: int) -> np.ndarray:
    """The numbers of ``table``'s rows in the order they are written: by part, then by key."""
    names = rowkey.columns(key)
    numbered = pa.table({**{c: table.column(c) for c in names},
                         ROW_COLUMN: pa.array(np.arange(table.num_rows, dtype=np.int64))})
    con.register("numbered", numbered)
    ordered = con.sql(f"SELECT {ROW_COLUMN} FROM numbered "
                      f"ORDER BY {part_expression(participant, parts)}, {', '.join(map(quote, names))}")
    return ordered.to_arrow_table().column(0).to_numpy()


class _Rows:
    """A table's rows taken by number, batch by batch (``Table.take`` joins every chunk on each call)."""

    def __init__(self, table: pa.Table) -> None:
        self.batches = table.to_batches()
        self.starts = np.cumsum([0, *(b.num_rows for b in self.batches)])

    def take(self, numbers: np.ndarray) -> pa.Table:
        """The rows ``numbers``, in that order."""
        if len(self.batches) == 1:
            return pa.Table.from_batches([self.batches[0].take(numbers)])
        batch_of = np.searchsorted(self.starts, numbers, side="right") - 1
        by_batch = np.argsort(batch_of, kind="stable")  # the order the pieces below hold the rows in
        pieces = [self.batches[b].take(numbers[batch_of == b] - self.starts[b]) for b in np.unique(batch_of)]
        return pa.Table.from_batches(pieces).take(np.argsort(by_batch))
