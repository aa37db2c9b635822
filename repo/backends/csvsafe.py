"""Text a spreadsheet would run as a formula, neutralised in every CSV ipd writes.

Excel, LibreOffice Calc and Google Sheets take a cell that begins with ``=``,
``+``, ``-`` or ``@`` as a formula, and may skip a leading tab, carriage
return or line feed to find one: ``=HYPERLINK("http://x","y")`` sends whoever
clicks it to any server, ``=cmd|'/C calc'!A0`` starts a program. A delivery's
text is written by others, and ipd's CSVs go to trial teams and requestors
who open them in a spreadsheet, so every CSV writer passes its cells through
here. As OWASP's CSV Injection guidance advises, a text cell beginning with
one of those characters gets a leading single quote (spreadsheets read it as
"this is text" and do not show it), and is written quoted, each double quote
doubled.

Only text is touched: -5 in an integer column is a number and stays one. The
stored values never change: Parquet parts, fingerprints and the Parquet, SAS,
Stata and SPSS exports hold the values as delivered; ``ipd check`` and the
release plan name the cells and columns that hold such text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")  # OWASP's list: = + - @, tab (0x09), CR (0x0D), LF (0x0A)
PATTERN = r"^[=+\-@\t\r\n]"  # the same, for RE2 (pyarrow) and Python's re
PREFIX = "'"
BELOW = "A"  # every text beginning with one of STARTS sorts below this (all are below 0x41)
SPECIAL = (",", '"', "\r", "\n")  # a field holding one of these is quoted (RFC 4180)
# How a file or report tells its reader: "In the CSV file, " + NOTE.
NOTE = ("text a spreadsheet would run as a formula (beginning with =, +, -, @, a tab, carriage return or line feed) "
        "has a leading ' (as OWASP advises against CSV injection)")


def formula_like(text: str) -> bool:
    return text.startswith(STARTS)


def cell(value: Any) -> Any:
    """The value as a CSV cell should hold it: formula-like text with a leading quote, anything else as it is."""
    return PREFIX + value if isinstance(value, str) and formula_like(value) else value


def restore(text: str) -> str:
    """A cell of a CSV ipd wrote, as it was before ``cell`` (for reading answers back from an export)."""
    return text[1:] if text.startswith(PREFIX) and formula_like(text[1:]) else text


def row(values: Iterable[Any], end: str = "\n") -> str:
    """One CSV line: text neutralised by ``cell`` and quoted; other fields quoted when they must be (RFC 4180).

    Python's csv module quotes only fields that hold a separator, a quote or a
    line break, so it cannot quote the neutralised ones. Otherwise the line is
    what ``csv.writer`` writes (None is an empty field), but for a field holding
    a carriage return, which is quoted here whatever the line end.
    """
    return ",".join(_field(v) for v in values) + end


def _field(value: Any) -> str:
    if value is None:
        return ""
    neutralise = isinstance(value, str) and formula_like(value)
    text = PREFIX + value if neutralise else str(value)
    if neutralise or any(c in text for c in SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def table(rows: pa.Table) -> pa.Table:
    """``rows`` as a CSV of them should hold them: text columns and column names neutralised by ``cell``."""
    import pyarrow as pa

    columns = [_column(rows.column(i)) for i in range(rows.num_columns)]
    return pa.Table.from_arrays(columns, names=[cell(name) for name in rows.column_names])


def columns(rows: pa.Table) -> list[str]:
    """The text columns holding a value a spreadsheet would run as a formula, in column order."""
    return [name for name, column in zip(rows.column_names, rows.columns)
            if _text(column.type) and _any_formula(_values(column))]


def _text(kind: pa.DataType) -> bool:
    import pyarrow.types as pt

    return pt.is_string(kind) or pt.is_large_string(kind) or \
        (pt.is_dictionary(kind) and _text(kind.value_type))


def _values(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """The text of a column; a dictionary-coded one's distinct values are enough to search."""
    import pyarrow as pa
    import pyarrow.types as pt

    if not pt.is_dictionary(column.type):
        return column
    return pa.chunked_array([c.dictionary for c in column.chunks], column.type.value_type)


def _any_formula(values: pa.ChunkedArray | pa.Array) -> bool:
    """Whether any value is formula-like: most columns are ruled out by one cheap comparison."""
    import pyarrow.compute as pc

    if len(values) == 0 or not pc.any(pc.less(values, BELOW)).as_py():
        return False
    return bool(pc.any(pc.match_substring_regex(values, PATTERN)).as_py())


def _column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow as pa
    import pyarrow.types as pt

    if not _text(column.type) or not _any_formula(_values(column)):
        return column
    if pt.is_dictionary(column.type):
        return pa.chunked_array([pa.DictionaryArray.from_arrays(c.indices, _neutralised(c.dictionary),
                                                                ordered=column.type.ordered)
                                 for c in column.chunks], column.type)
    return _neutralised(column)


def _neutralised(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    import pyarrow.compute as pc

    return pc.replace_substring_regex(values, pattern=PATTERN, replacement=PREFIX + r"\0")
