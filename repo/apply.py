"""Applying logged corrections to the rows of one Parquet part, column-wise with Arrow.

A part holds about 16,000 rows; a correction touches a handful. Removals are a
filter, updates a ``take`` per corrected column, additions a concatenation and
new variables a lookup by key, so rewriting a part costs about as much as
reading it. Rows come out ordered by key, as every part is written.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .columns import type_class
from .correctionlog import Correction
from .values import from_json


def target_schema(schema: pa.Schema, added: dict[str, pa.DataType]) -> pa.Schema:
    """The schema after corrections: dictionary columns decoded, new variables appended."""
    fields = [pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in schema]
    return pa.schema(fields + [pa.field(name, kind) for name, kind in added.items()])


def apply(table: pa.Table | None, entries: list[Correction], key: str, schema: pa.Schema,
          supplements: dict[str, pa.Table]) -> pa.Table:
    """The part's rows after ``entries`` (all of which fall in this part); ``table`` None for a new part.

    ``supplements`` maps each added column to a two-column table (key, values).
    """
    table = _conform(table, schema)
    removed = [e.key for e in entries if e.action == "remove"]
    if removed:
        keep = pc.invert(pc.is_in(table.column(key), value_set=_array(removed, schema.field(key).type)))
        table = table.filter(keep)
    for column, updates in _updates_by_column(entries).items():
        table = _update(table, key, schema.field(column), updates)
    for column, supplied in supplements.items():
        index = pc.index_in(table.column(key), value_set=supplied.column(0))
        values = supplied.column(1).take(index).cast(schema.field(column).type)
        table = table.set_column(table.column_names.index(column), column, values)
    added = [e.new for e in entries if e.action == "add"]
    if added:
        rows = [{name: from_json(record.get(name), type_class(schema.field(name).type)) for name in schema.names}
                for record in added]
        table = pa.concat_tables([table, pa.Table.from_pylist(rows, schema=schema)])
    return table.sort_by(key)


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


def _update(table: pa.Table, key: str, field: pa.Field, updates: dict[Any, Any]) -> pa.Table:
    keys = _array(list(updates), table.schema.field(key).type)
    kind = type_class(field.type)
    new_values = pa.array([from_json(v, kind) for v in updates.values()], type=field.type)
    index = pc.index_in(table.column(key), value_set=keys)
    replaced = pc.if_else(pc.is_valid(index), new_values.take(index), table.column(field.name))
    return table.set_column(table.column_names.index(field.name), field.name, replaced)


def _array(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    kind = type_class(arrow_type)
    return pa.array([from_json(v, kind) for v in values], type=arrow_type)
