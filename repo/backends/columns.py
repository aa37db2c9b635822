"""The logical type of a column, independent of how a file format stores it.

An integer is an integer whether Parquet stores it in 8, 16 or 64 bits, and
whether it came from Stata or from CSV; fingerprints and dictionaries speak in
these classes so they survive a change of format.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.types as pt

INTEGER, NUMBER, DECIMAL, STRING, BOOLEAN, DATE, DATETIME, TIME, OTHER = (
    "integer", "number", "decimal", "string", "boolean", "date", "datetime", "time", "other",
)


def type_class(arrow_type: pa.DataType) -> str:
    if pt.is_dictionary(arrow_type):
        return type_class(arrow_type.value_type)
    checks = (
        (pt.is_boolean, BOOLEAN), (pt.is_integer, INTEGER), (pt.is_floating, NUMBER),
        (pt.is_decimal, DECIMAL), (pt.is_string, STRING), (pt.is_large_string, STRING),
        (pt.is_date, DATE), (pt.is_timestamp, DATETIME), (pt.is_time, TIME),
    )
    for check, name in checks:
        if check(arrow_type):
            return name
    return OTHER


def quote(name: str) -> str:
    """A column name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


CANONICAL_SQL = {
    INTEGER: "CAST({c} AS HUGEINT)",
    NUMBER: "CAST({c} AS DOUBLE)",
    DECIMAL: "CAST({c} AS VARCHAR)",
    STRING: "CAST({c} AS VARCHAR)",
    BOOLEAN: "CAST({c} AS BOOLEAN)",
    DATE: "CAST({c} AS DATE)",
    DATETIME: "strftime(CAST({c} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%f')",
    TIME: "CAST({c} AS VARCHAR)",
    OTHER: "{c}",
}


def canonical_expression(name: str, arrow_type: pa.DataType) -> str:
    """SQL giving the column's value in its canonical form, the same whatever the storage type."""
    return CANONICAL_SQL[type_class(arrow_type)].format(c=quote(name))
