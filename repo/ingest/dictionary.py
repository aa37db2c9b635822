"""The data dictionary inferred from a delivery.

For every column: its logical type, the label the format carried (SAS, Stata
and SPSS do), how many values are missing and distinct, the range of numbers
and dates, and for categorical columns the value set with counts and value
labels. A column is categorical when it is boolean, carries value labels, or
holds at most 12 distinct integers, numbers or strings (fewer than its rows).
Curators edit it afterwards; a re-delivery keeps their labels.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..backends.columns import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    NUMBER,
    STRING,
    type_class,
)
from ..backends.formats import Delivery
from ..backends.sql import connect
from ..backends.values import plain
from .columnstats import Columns, column_stats, value_counts

MAX_CATEGORIES = 12
RANGED = {INTEGER, NUMBER, DECIMAL, DATE, DATETIME}


def infer(delivery: Delivery) -> list[dict[str, Any]]:
    con = connect()
    con.register("delivery", delivery.table)
    return describe(Columns(con, "delivery", delivery.table), delivery.table.schema, delivery)


def describe(columns: Columns, schema: pa.Schema, delivery: Delivery | None = None,
             only: set[str] | None = None) -> list[dict[str, Any]]:
    """Dictionary entries of the columns of ``columns`` (those in ``only``, when given).

    ``delivery`` supplies what a file format said about the columns (labels, value labels).
    Statistics and value sets are computed a batch of columns at a time (``repo.columnstats``),
    so a delivery of thousands of columns costs a few dozen statements, not one giant one.
    """
    fields = [f for f in schema if only is None or f.name in only]
    rows = columns.con.sql(f"SELECT count(*) FROM {columns.relation}").fetchall()[0][0]
    stats = column_stats(columns, fields, rows, {f.name for f in fields if type_class(f.type) in RANGED})
    value_labels = delivery.value_labels if delivery else {}
    categorical = [f for f in fields if _categorical(type_class(f.type), stats[f.name][1],
                                                     bool(value_labels.get(f.name)), rows)]
    value_sets = value_counts(columns, categorical)
    return [_entry(field, stats[field.name], value_sets.get(field.name), delivery) for field in fields]


def _entry(field: pa.Field, stats: tuple, value_set: list[tuple[Any, int]] | None,
           delivery: Delivery | None) -> dict[str, Any]:
    """One column's dictionary entry from its statistics and, for a categorical column, its value counts."""
    labels = delivery.labels if delivery else {}
    unnamed = delivery.unnamed if delivery else []
    kind = type_class(field.type)
    missing, distinct, low, high = stats
    entry: dict[str, Any] = {"name": field.name, "type": kind}
    if field.name in labels:
        entry["label"] = labels[field.name]
    if field.name in unnamed:
        entry["note"] = "unnamed in the delivery; named by its position"
    entry["missing"] = missing
    entry["distinct"] = distinct
    if kind in RANGED and low is not None:
        entry["min"], entry["max"] = plain(low), plain(high)
    if value_set is not None:
        entry["values"] = _value_set(value_set, (delivery.value_labels if delivery else {}).get(field.name, {}))
    return entry


def refresh(previous: list[dict[str, Any]], fresh: list[dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    """The dictionary after a correction: ``fresh`` entries replace their columns, keeping what a
    curator wrote (labels, value labels, notes); columns come in ``order``."""
    by_name = {c["name"]: c for c in previous}
    for entry in fresh:
        old = by_name.get(entry["name"], {})
        labels = {v["value"]: v["label"] for v in old.get("values", []) if v.get("label")}
        for value in entry.get("values", []):
            if value["value"] in labels:
                value["label"] = labels[value["value"]]
        for key in ("label", "description", "unit", "note"):
            if key in old and key not in entry:
                entry[key] = old[key]
        by_name[entry["name"]] = entry
    return [by_name[name] for name in order if name in by_name]


def _categorical(kind: str, distinct: int, labelled: bool, rows: int) -> bool:
    """Few values make a code, whatever type holds them: an edema of 0, 0.5 and 1 is checked against its
    value set, not a range that would pass 0.7."""
    if labelled or kind == BOOLEAN:
        return True
    few = distinct <= MAX_CATEGORIES and distinct < rows
    return few and kind in (INTEGER, NUMBER, STRING)


def _value_set(counts: list[tuple[Any, int]], labels: dict) -> list[dict[str, Any]]:
    values = []
    for value, count in counts:
        entry: dict[str, Any] = {"value": plain(value), "count": count}
        label = labels.get(value, labels.get(float(value)) if isinstance(value, int) else None)
        if label:
            entry["label"] = label
        values.append(entry)
    return values


def merge_curated(inferred: list[dict[str, Any]], previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep labels and notes a curator wrote when a re-delivery is inferred afresh."""
    before = {c["name"]: c for c in previous}
    for column in inferred:
        old = before.get(column["name"], {})
        for key in ("label", "description", "unit"):
            if key in old and key not in column:
                column[key] = old[key]
    return inferred


def labels_of(columns: list[dict[str, Any]]) -> dict[str, str]:
    return {c["name"]: c["label"] for c in columns if c.get("label")}
