"""Finding participants' records in a version by key, reading only the parts that hold them.

A key's part is fixed by the partitioning (``parts.part_expression``), so looking
up a hundred participants of a ten-million-row trial reads at most a hundred
small parts, never the whole version. Keys travel to DuckDB as a typed list
parameter: building an Arrow array from Python values would import pandas,
which costs more than the whole lookup.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import rowkey
from ..backends.columns import quote
from ..backends.rowkey import Key
from ..backends.sql import connect
from ..backends.values import to_json
from .parts import part_expression, part_name

if TYPE_CHECKING:
    from ..backends.sql import Connection


def key_type(con: Connection, file: Path, key: str) -> str:
    """The key column's DuckDB type, as stored (so keys cast to it hash to the same part)."""
    return key_types(con, file, [key])[0]


def key_types(con: Connection, file: Path, names: list[str]) -> list[str]:
    """The DuckDB types of columns ``names``, as stored, read in one query."""
    typed = ", ".join(f"typeof({quote(c)})" for c in names)
    return list(con.execute(f"SELECT {typed} FROM read_parquet($file) LIMIT 1", {"file": str(file)}).fetchall()[0])


def _keys_sql(sql_type: str) -> str:
    return f"SELECT unnest(CAST($keys AS {sql_type}[])) AS k"


def parts_of(con: Connection, keys: list[Any], sql_type: str, nparts: int) -> dict[Any, str]:
    """Key (as JSON) -> the name of the part that holds, or would hold, it."""
    if not keys:
        return {}
    rows = con.execute(f"SELECT k, {part_expression('k', nparts)} FROM ({_keys_sql(sql_type)})",
                       {"keys": keys}).fetchall()
    return {to_json(k): part_name(index) for k, index in rows}


def records(files: dict[str, Path], key: Key, participant: str, nparts: int,
            keys: list[Any]) -> dict[Any, dict[str, Any]]:
    """The records of ``keys`` (JSON values by column) from the parts ``files`` (name -> path).

    Keys in no part are absent from the result, which is keyed by the key as JSON (a tuple of them
    for a composite key). A record's part is its participant's.
    """
    if not files or not keys:
        return {}
    names = rowkey.columns(key)
    con = connect()
    first = next(iter(files.values()))
    types = key_types(con, first, names)
    at = names.index(participant)
    columns = [list(keys)] if len(names) == 1 else [[k[i] for k in keys] for i in range(len(names))]
    wanted = sorted({name for name in parts_of(con, columns[at], types[at], nparts).values() if name in files})
    if not wanted:
        return {}
    typed = ", ".join(f"unnest(CAST($k{i} AS {t}[])) AS k{i}" for i, t in enumerate(types))
    listed = rowkey.sql([f"k{i}" for i in range(len(names))]) if len(names) > 1 else "k0"
    relation = con.execute(
        f"SELECT * FROM read_parquet($files, union_by_name = true) "
        f"WHERE {rowkey.sql(key)} IN (SELECT {listed} FROM (SELECT {typed}))",
        {"files": [str(files[name]) for name in wanted], **{f"k{i}": c for i, c in enumerate(columns)}})
    found: dict[Any, dict[str, Any]] = {}
    described = [d[0] for d in relation.description]
    for row in relation.fetchall():
        record = {n: to_json(v) for n, v in zip(described, row)}
        found[rowkey.value(record, key)] = record
    return found


def records_of_participant(files: dict[str, Path], participant: str, nparts: int, value: Any) -> list[dict[str, Any]]:
    """Every record of one participant (JSON values by column) in the parts ``files``: all in one part."""
    if not files:
        return []
    con = connect()
    sql_type = key_type(con, next(iter(files.values())), participant)
    name = parts_of(con, [value], sql_type, nparts).get(to_json(value))
    if name not in files:
        return []
    relation = con.execute(f"SELECT * FROM read_parquet($file) WHERE {quote(participant)} = CAST($value AS {sql_type})",
                           {"file": str(files[name]), "value": value})
    described = [d[0] for d in relation.description]
    return [{n: to_json(v) for n, v in zip(described, row)} for row in relation.fetchall()]
