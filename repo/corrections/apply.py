"""Applying logged corrections to the rows of one Parquet part, column-wise with Arrow.

A part holds about 16,000 rows; a correction touches a handful. Removals are a
filter, updates a ``take`` per corrected column, additions a concatenation and
new variables a lookup by key, so rewriting a part costs about as much as
reading it. Rows come out ordered by key, as every part is written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..backends import rowkey
from ..backends.columns import type_class
from ..backends.rowkey import Key
from ..backends.sql import query, translated
from ..backends.values import from_json
from .log import Correction


def target_schema(schema: pa.Schema, added: dict[str, pa.DataType]) -> pa.Schema:
    """The schema after corrections: dictionary columns decoded, new variables appended."""
    fields = [pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in schema]
    return pa.schema(fields + [pa.field(name, kind) for name, kind in added.items()])


@dataclass(frozen=True)
class Prepared:
    """The corrections as Arrow arrays, built once for all parts: a part's keys simply match or not."""

    removed: pa.Array
    updates: dict[str, tuple[pa.Array, pa.Array]]  # column -> (keys, new values)
    touched: pa.Array  # every key an entry names


def prepare(entries: list[Correction], key: Key, schema: pa.Schema) -> Prepared:
    updates = {column: (key_array(list(changes), key, schema), typed_array(list(changes.values()),
                                                                           schema.field(column).type, column))
               for column, changes in _updates_by_column(entries).items()}
    return Prepared(key_array([e.key for e in entries if e.action == "remove"], key, schema), updates,
                    key_array([e.key for e in entries if e.action != "add_column"], key, schema))


def key_array(keys: list[Any], key: Key, schema: pa.Schema) -> pa.Array:
    """Logged keys in the form ``rowkey.arrow`` gives a part's rows, to match them."""
    names = rowkey.columns(key)
    if len(names) == 1:
        return typed_array(keys, schema.field(names[0]).type, names[0])
    return rowkey.joined([typed_array([k[i] for k in keys], schema.field(c).type, c) for i, c in enumerate(names)])


def apply(table: pa.Table | None, entries: list[Correction], key: Key, schema: pa.Schema,
          supplements: dict[str, pa.Table], prepared: Prepared) -> pa.Table:
    """The part's rows after ``entries`` (all of which fall in this part); ``table`` None for a new part.

    ``supplements`` maps each added column to a two-column table (key, values);
    ``prepared`` holds the removals and updates of every part.
    """
    table = _conform(table, schema)
    if len(prepared.removed):
        table = table.filter(pc.invert(pc.is_in(rowkey.arrow(table, key), value_set=prepared.removed)))
    for column, (keys, values) in prepared.updates.items():
        table = _update(table, key, column, keys, values)
    for column, supplied in supplements.items():
        index = pc.index_in(rowkey.arrow(table, key), value_set=supplied.column(0))
        values = supplied.column(1).take(index).cast(schema.field(column).type)
        table = table.set_column(table.column_names.index(column), column, values)
    added = [e.new for e in entries if e.action == "add"]
    if added:
        rows = [{name: from_json(record.get(name), type_class(schema.field(name).type)) for name in schema.names}
                for record in added]
        table = pa.concat_tables([table, pa.Table.from_pylist(rows, schema=schema)])
    return table.sort_by([(c, "ascending") for c in rowkey.columns(key)])


def _conform(table: pa.Table | None, schema: pa.Schema) -> pa.Table:
    """The part as ``schema``: decoded dictionaries, new columns present (as nulls, filled later)."""
    if table is None:
        return schema.empty_table()
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.table(columns, schema=schema)


def _updates_by_column(entries: list[Correction]) -> dict[str, dict[Any, Any]]:
    updates: dict[str, dict[Any, Any]] = defaultdict(dict)
    for entry in entries:
        if entry.action == "update":
            updates[entry.column][entry.key] = entry.new
    return updates


def _update(table: pa.Table, key: Key, column: str, keys: pa.Array, values: pa.Array) -> pa.Table:
    index = pc.index_in(rowkey.arrow(table, key), value_set=keys)
    if index.null_count == len(index):
        return table  # none of this column's corrections is in this part
    replaced = pc.if_else(pc.is_valid(index), values.take(index), table.column(column))
    return table.set_column(table.column_names.index(column), column, replaced)


DUCKDB_TYPES = {
    pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT", pa.uint16(): "USMALLINT", pa.uint32(): "UINTEGER", pa.uint64(): "UBIGINT",
    pa.float32(): "FLOAT", pa.float64(): "DOUBLE", pa.string(): "VARCHAR", pa.large_string(): "VARCHAR",
    pa.bool_(): "BOOLEAN", pa.date32(): "DATE", pa.date64(): "DATE",
}


def typed_array(values: list[Any], arrow_type: pa.DataType, column: str) -> pa.Array:
    """Logged (JSON) values of ``column`` as an Arrow array of ``arrow_type``.

    DuckDB builds the array from a typed list parameter: pyarrow's own constructors
    import pandas, which costs a commit more than the rest of its rewriting. A value
    that does not convert (a log edited by hand) is refused naming the column.
    """
    if not values:
        return pa.nulls(0, arrow_type)
    sql_type = DUCKDB_TYPES.get(arrow_type)
    if sql_type is None:
        kind = type_class(arrow_type)
        return pa.array([from_json(v, kind) for v in values], type=arrow_type)
    with translated(f"applying the corrections to column {column}"):
        table = query(f"SELECT unnest(CAST($values AS {sql_type}[])) AS v", {"values": values}).to_arrow_table()
    return table.column(0).combine_chunks().cast(arrow_type)
