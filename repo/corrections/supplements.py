"""Whole variables the trialists supply later, in a file of their own (key + new columns).

The file is read like any delivery, checked (the key present and unique, every
key a participant of the current version, no column that already exists), kept
byte-for-byte beside the correction log that adds it, and joined to the rows
by key when the version is cut. Participants the file does not mention get a
missing value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from ..backends import formats, rowkey
from ..backends.columns import OTHER, type_class
from ..backends.hashing import sha256_of
from ..backends.rowkey import Key
from ..backends.sql import connect
from ..errors import InvalidInput
from ..ingest.keys import check_key

if TYPE_CHECKING:
    from .changes import Current

SHOW = 5


@dataclass(frozen=True)
class Supplement:
    table: pa.Table  # the key (as the trial's key type) and the new columns
    columns: dict[str, str]  # new column -> logical type
    rows: int
    sha256: str
    stored_name: str


def stored_name(path: Path) -> str:
    """Named by content, so one file supplying several variables is kept once."""
    return f"{sha256_of(path)[:12]}-{path.name}"


def load(path: Path, key: Key, schema: pa.Schema) -> pa.Table:
    """The supplied table with its key columns cast to the table's types.

    Read by reader 1, whole-number doubles kept as doubles, whatever the version's reader: the log entry
    records no reader, and a rebuild must give the bytes the supplement gave when it was committed.
    """
    table = formats.read(path, reader=1).table
    check_key(table, key, str(path), delivery=False)
    for name in rowkey.columns(key):
        try:
            keys = table.column(name).cast(schema.field(name).type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInput(f"{path}: key column {name!r} does not fit the trial's key type "
                               f"{schema.field(name).type}") from exc
        table = table.set_column(table.column_names.index(name), name, keys)
    return table


def read_supplement(path: Path | None, state: Current) -> Supplement:
    if path is None:
        raise InvalidInput("adding a variable needs the file that holds it (--add-column FILE)")
    table = load(path, state.key, state.schema)
    names = rowkey.columns(state.key)
    new = [c for c in table.column_names if c not in names]
    if not new:
        raise InvalidInput(f"{path}: no column besides the key {rowkey.named(state.key)}")
    for column in new:
        if column in state.schema.names:
            raise InvalidInput(f"{path}: column {column!r} already exists in {state.trial}@{state.version}; "
                               "correct its values with updates instead")
        if type_class(table.schema.field(column).type) == OTHER:
            raise InvalidInput(f"{path}: column {column!r} has a type ipd cannot store ({table.schema.field(column).type})")
    _check_known_keys(path, table, state)
    return Supplement(table, {c: type_class(table.schema.field(c).type) for c in new}, table.num_rows,
                      sha256_of(path), stored_name(path))


def _check_known_keys(path: Path, table: pa.Table, state: Current) -> None:
    k = rowkey.sql(state.key)
    con = connect()
    con.register("supplied", pa.table({c: table.column(c) for c in rowkey.columns(state.key)}))
    con.sql(f"SELECT {k} AS k FROM read_parquet($files)",
            params={"files": [str(p) for p in state.files.values()]}).create_view("current")
    unknown = [r[0] for r in con.sql(
        f"SELECT {k} FROM supplied WHERE {k} NOT IN (SELECT k FROM current) ORDER BY 1").fetchall()]
    if unknown:
        shown = ", ".join(map(rowkey.shown, unknown[:SHOW])) + (", …" if len(unknown) > SHOW else "")
        what = "name no record of" if rowkey.composite(state.key) else "are not participants of"
        raise InvalidInput(f"{path}: {len(unknown)} key(s) {what} {state.trial}@{state.version}: {shown}")
