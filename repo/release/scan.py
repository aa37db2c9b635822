"""The last look before a release is written: text that still looks identifying.

Rules are written by people and data change under them, so every text column
left in a release is searched for what must never leave: e-mail addresses,
phone numbers, national ID numbers (US social security, UK NHS), calendar
dates written as text, and long free text. ``ipd`` refuses the release,
naming the first column found, until the rules deal with it. The search runs
over each column's distinct values with RE2 (pyarrow.compute), not Python, so
a million rows cost a fraction of a second. Numeric and date-typed columns are
not scanned: dates are dealt with by the date rules, and numbers cannot hold
these patterns.

Text a spreadsheet would run as a formula (``=HYPERLINK(…)``) is looked for
too. It does not refuse the release, since the CSV file neutralises it
(``csvsafe``), but the plan and the build name its columns, so the curator
sees what the trial's text holds and can recode it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from .deidentify import Deidentified

MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|" \
         "august|september|october|november|december"
# (what, RE2 pattern); patterns are searched anywhere in a value, case-insensitively.
PATTERNS: list[tuple[str, str]] = [
    ("e-mail addresses", r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}"),
    ("US social security numbers", r"(^|[^0-9-])[0-9]{3}-[0-9]{2}-[0-9]{4}($|[^0-9-])"),
    ("UK NHS numbers", r"(^|[^0-9])([0-9]{3}[ -][0-9]{3}[ -][0-9]{4}|[0-9]{10})($|[^0-9])"),
    ("phone numbers", r"(^|[^0-9])(\+[0-9]{1,3}[ .-]?)?(\([0-9]{1,5}\)[ .-]?|[0-9]{2,5}[ .-])"
                      r"[0-9]{3,4}[ .-]?[0-9]{3,6}($|[^0-9])"),
    ("calendar dates", r"(^|[^0-9])([0-9]{4}[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12][0-9]|3[01])"
                       r"|[0-9]{1,2}[/.-][0-9]{1,2}[/.-]([0-9]{4}|[0-9]{2}))($|[^0-9])"),
    ("calendar dates", rf"(^|[^a-z0-9])([0-9]{{1,2}}(st|nd|rd|th)?[ -]?({MONTHS})\.?[ ,-]*[0-9]{{2,4}}"
                       rf"|({MONTHS})\.? [0-9]{{1,2}}(st|nd|rd|th)?,? [0-9]{{4}})($|[^a-z0-9])"),
]
LONG_TEXT = 40  # median length (characters) from which a column is free text
MULTI_WORD = 3  # words from which a value is a sentence rather than a category
MANY_DISTINCT = 20  # distinct values from which a column of mostly sentences is free text


def scan(table: pa.Table) -> list[tuple[str, str]]:
    """(column, what was found) for every text column that looks identifying, in column order."""
    import pyarrow.compute as pc
    import pyarrow.types as pt

    found = []
    for field in table.schema:
        kind = field.type.value_type if pt.is_dictionary(field.type) else field.type
        if not (pt.is_string(kind) or pt.is_large_string(kind)):
            continue
        column = table.column(field.name)
        if pt.is_dictionary(field.type):
            column = column.cast(kind)
        values = pc.unique(column.drop_null())
        if pt.is_large_string(kind):
            values = values.cast("string")
        seen = []
        for what, pattern in PATTERNS:
            if what not in seen and pc.any(pc.match_substring_regex(values, pattern, ignore_case=True)).as_py():
                seen.append(what)
        if _free_text(column, values):
            seen.append("long free text")
        found += [(field.name, what) for what in seen]
    return found


def _free_text(column: pa.ChunkedArray, distinct: pa.Array) -> bool:
    """Verbatim text: long values, or many distinct values that are mostly sentences."""
    import pyarrow.compute as pc

    present = column.drop_null()
    if len(present) == 0:
        return False
    lengths = pc.utf8_length(present)
    median = pc.quantile(lengths, q=0.5, interpolation="lower")[0].as_py()
    if median > LONG_TEXT:
        return True
    if len(distinct) < MANY_DISTINCT:
        return False
    words = pc.list_value_length(pc.utf8_split_whitespace(pc.utf8_trim_whitespace(distinct)))
    sentences = pc.sum(pc.greater_equal(words, MULTI_WORD)).as_py() or 0
    return sentences * 2 > len(distinct)


def formulas(table: pa.Table) -> list[str]:
    """The text columns holding a value a spreadsheet would run as a formula, in column order."""
    from ..backends.csvsafe import columns

    return columns(table)


def released_formulas(released: Deidentified) -> list[str]:
    """``formulas`` of every table of a release: its data, then each other table's columns named TABLE.COLUMN."""
    found = formulas(released.data)
    for name, table in released.tables.items():
        found += [f"{name}.{c}" for c in formulas(table)]
    return found


def scan_released(released: Deidentified) -> list[tuple[str, str]]:
    """``scan`` of every table of a release, other tables' columns named TABLE.COLUMN."""
    found = scan(released.data)
    for name, table in released.tables.items():
        found += [(f"{name}.{c}", what) for c, what in scan(table)]
    return found
