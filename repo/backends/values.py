"""Cell values as the logs and reports hold them, and back again.

The correction log, queries and diffs are JSON; a value keeps its logical type
there (a number stays a number, a date is ISO text), so a key reads as it is in
the data and a logged value can be put back into a column of its type exactly.
Values typed by a curator (on the command line or in a CSV file) are parsed by
the type of the column they go into, with a one-line reason when they do not fit.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

from ..errors import InvalidInput
from .columns import BOOLEAN, DATE, DATETIME, DECIMAL, INTEGER, NUMBER, STRING, TIME

MISSING_WORDS = ("", "NA", "N/A", "NULL", "NaN", ".")
TRUE_WORDS = ("1", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "false", "f", "no", "n")


def to_json(value: Any) -> Any:
    """A cell value as JSON holds it: numbers and strings as they are, dates as ISO text, NaN as null."""
    if value is None:
        return None
    if isinstance(value, tuple):  # a composite key
        return tuple(to_json(v) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if hasattr(value, "item"):  # a numpy scalar
        return to_json(value.item())
    return value


def plain(value: Any) -> Any:
    """A value as YAML (and JSON) can hold it: dates as ISO text, decimals as numbers."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def from_json(value: Any, kind: str) -> Any:
    """A logged value back as the Python value of a column of logical type ``kind``."""
    if value is None:
        return None
    if kind == DATE:
        return dt.date.fromisoformat(value)
    if kind == DATETIME:
        return dt.datetime.fromisoformat(value)
    if kind == TIME:
        return dt.time.fromisoformat(value)
    if kind == DECIMAL:
        return decimal.Decimal(str(value))
    if kind == NUMBER:
        return float(value)
    return value


def parse(text: str | None, kind: str, where: str) -> Any:
    """A value typed by a curator, as the Python value of a column of type ``kind``.

    Empty text (or NA, NULL, ``.``) means missing. ``where`` names the column (and the
    file and row, for values from a file) in the error.
    """
    if text is None or text.strip() in MISSING_WORDS:
        return None
    text = text.strip()
    try:
        return _PARSE[kind](text)
    except (ValueError, ArithmeticError, KeyError):
        raise InvalidInput(f"{where}: {text!r} is not a valid {kind} value") from None


def _integer(text: str) -> int:
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number) if "e" in text.lower() or "." in text else int(text)


def _boolean(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(text)


def _number(text: str) -> float:
    number = float(text)
    if math.isnan(number) or math.isinf(number):
        raise ValueError(text)
    return number


_PARSE = {
    INTEGER: _integer,
    NUMBER: _number,
    DECIMAL: decimal.Decimal,
    STRING: str,
    BOOLEAN: _boolean,
    DATE: dt.date.fromisoformat,
    DATETIME: dt.datetime.fromisoformat,
    TIME: dt.time.fromisoformat,
}


def same(a: Any, b: Any) -> bool:
    """Equal as logged values (so 3 and 3.0, or a date and its ISO text, agree)."""
    return to_json(a) == to_json(b)
