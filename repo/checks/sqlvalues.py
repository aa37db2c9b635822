"""Values, literals and arguments of expectations as SQL: how the DuckDB engine matches GX.

A column is read with NaN as missing (pandas, hence GX, cannot tell them apart);
bounds, sets and flags are read from an expectation's arguments with a one-line
error naming the argument when they do not parse; report figures are plain JSON.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import pyarrow as pa

from ..backends.columns import DATE, DATETIME, INTEGER, NUMBER, quote, type_class

NUMERIC = (INTEGER, NUMBER)  # decimals are left to GX: pandas compares them exactly with floats, DuckDB does not
TEMPORAL = (DATE, DATETIME)
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")


class Unsupported(Exception):
    """This expectation, as written, is left to GX."""


def column_sql(f: pa.Field) -> str:
    """The column as SQL, with NaN as NULL: pandas, hence GX, cannot tell them apart."""
    column = quote(f.name)
    return f"(CASE WHEN isnan({column}) THEN NULL ELSE {column} END)" if type_class(f.type) == NUMBER else column


def comparable_sql(f: pa.Field) -> str:
    """The column as SQL that orders like pandas: numbers as numbers, dates and times as timestamps."""
    kind = type_class(f.type)
    if kind in NUMERIC:
        return column_sql(f)
    if kind in TEMPORAL and getattr(f.type, "tz", None) is None:
        return f"CAST({quote(f.name)} AS TIMESTAMP)"
    raise Unsupported


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST('{value!r}' AS DOUBLE)"
    if isinstance(value, datetime.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise Unsupported


def as_number(value: Any) -> float:
    """A numeric argument as GX reads it (pydantic makes it a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Unsupported
    return float(value)


def as_integer(value: Any) -> int:
    """An integer argument; anything GX would coerce (6.0, "6") is left to GX."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unsupported
    return value


def as_time(value: Any) -> datetime.datetime:
    """An ISO date or naive date-time string as a timestamp (a date is its midnight)."""
    if not isinstance(value, str) or not ISO_TIME.fullmatch(value):
        raise Unsupported
    return datetime.datetime.fromisoformat(value)


def bound(value: Any, f: pa.Field) -> float | datetime.datetime | None:
    if value is None:
        return None
    return as_time(value) if type_class(f.type) in TEMPORAL else as_number(value)


def flag(kwargs: dict[str, Any], name: str) -> bool:
    value = kwargs.get(name)
    if value is not None and not isinstance(value, bool):
        raise Unsupported
    return bool(value)


def mostly_share(kwargs: dict[str, Any]) -> float:
    mostly = as_number(kwargs.get("mostly", 1.0))
    if not 0.0 <= mostly <= 1.0:
        raise Unsupported
    return mostly


def range_sql(expression: str, low: Any, high: Any, strict_min: bool, strict_max: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{expression} {'>' if strict_min else '>='} {literal(low)}")
    if high is not None:
        parts.append(f"{expression} {'<' if strict_max else '<='} {literal(high)}")
    return " AND ".join(parts) or "TRUE"


def in_range(observed: Any, low: Any, high: Any, strict_min: bool, strict_max: bool) -> bool:
    """GX's verdict for an aggregate between bounds: no observed value is a failure."""
    if observed is None:
        return False
    if isinstance(observed, datetime.date) and not isinstance(observed, datetime.datetime):
        observed = datetime.datetime.combine(observed, datetime.time())
    above = low is None or (observed > low if strict_min else observed >= low)
    below = high is None or (observed < high if strict_max else observed <= high)
    return bool(above and below)


def python_value(value: Any) -> Any:
    """A key or figure from numpy/pandas as the plain Python value DuckDB would give (NaN, NaT: None)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    elif hasattr(value, "to_pydatetime"):  # a pandas Timestamp, or NaT
        value = None if value != value else value.to_pydatetime()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def plain(value: Any) -> Any:
    """A figure for a report (JSON): numbers as numbers, dates and times as ISO strings."""
    value = python_value(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if not isinstance(value, (str, int, float, bool, type(None))):
        return str(value)
    return value
