"""Finding participants' records in a version by key, reading only the parts that hold them.

A key's part is fixed by the partitioning (``parts.part_expression``), so looking
up a hundred participants of a ten-million-row trial reads at most a hundred
small parts, never the whole version.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from .columns import quote
from .parts import part_expression, part_name
from .values import to_json


def key_array(keys: list[Any], key_type: pa.DataType) -> pa.Array:
    """Keys as an Arrow array of the key column's type (so they hash to the same part)."""
    return pa.array(keys).cast(key_type) if keys else pa.array([], key_type)


def parts_of(keys: list[Any], key: str, key_type: pa.DataType, nparts: int) -> dict[Any, str]:
    """Key -> the name of the part that holds (or would hold) it."""
    if not keys:
        return {}
    con = duckdb.connect()
    con.register("keys", pa.table({key: key_array(keys, key_type)}))
    rows = con.sql(f"SELECT {quote(key)}, {part_expression(key, nparts)} FROM keys").fetchall()
    return {k: part_name(index) for k, index in rows}


def records(files: dict[str, Path], key: str, nparts: int, keys: list[Any]) -> dict[Any, dict[str, Any]]:
    """The records of ``keys`` (as JSON values by column) from the parts ``files`` (name -> path).

    Keys that are in no part are absent from the result. Keys are compared as the key
    column's type; the result is keyed by the key as stored in the data.
    """
    if not files or not keys:
        return {}
    some = next(iter(files.values()))
    key_type = pq.read_schema(some).field(key).type
    wanted: dict[str, list[Any]] = defaultdict(list)
    for value, name in parts_of(keys, key, key_type, nparts).items():
        wanted[name].append(value)
    found: dict[Any, dict[str, Any]] = {}
    con = duckdb.connect()
    for name, values in wanted.items():
        if name not in files:
            continue
        con.register("wanted", pa.table({key: key_array(values, key_type)}))
        relation = con.sql(
            f"SELECT * FROM read_parquet($path) WHERE {quote(key)} IN (SELECT {quote(key)} FROM wanted)",
            params={"path": str(files[name])},
        )
        names = relation.columns
        for row in relation.fetchall():
            record = {n: to_json(v) for n, v in zip(names, row)}
            found[record[key]] = record
    return found
