"""Rows split into Parquet parts by a stable hash of the participant key.

A participant's part is MD5(key as text) modulo the number of parts, fixed
when the trial is first ingested. A correction therefore rewrites only the
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

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from .columns import quote
from .fingerprint import Digest, digests_by

PART_ROWS = 16_384
MAX_PARTS = 4_096
PART_COLUMN = "__ipd_part"


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
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_statistics=True)
    data = sink.getvalue().to_pybytes()
    _write_atomic(path, data)
    return hashlib.md5(data).hexdigest(), len(data)


def write_parts(table: pa.Table, key: str, parts: int, out: Path,
                advance: Callable[[int], None] = lambda n: None) -> list[Part]:
    """Split ``table`` into its parts under ``out``; empty parts are not written."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.register("delivery", table)
    ordered = con.sql(
        f"SELECT *, {part_expression(key, parts)} AS {PART_COLUMN} FROM delivery "
        f"ORDER BY {PART_COLUMN}, {quote(key)}"
    ).to_arrow_table()
    con.register("ordered", ordered)
    digests = digests_by(con, "ordered", table.schema, group=PART_COLUMN)
    data = ordered.drop_columns([PART_COLUMN])
    written, offset = [], 0
    for index in sorted(digests):
        digest = digests[index]
        name = part_name(index)
        md5, size = write_part(data.slice(offset, digest.rows), out / name)
        written.append(Part(name, md5, size, digest.rows, digest))
        offset += digest.rows
        advance(1)
    return written
