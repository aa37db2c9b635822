"""Counts within race–sex cells, shared by the protections and the disclosure figures.

The NHLBI rule is about cells: every value of a protected variable must be
shared by at least ``min_cell`` participants of the same race and sex, and the
extreme values of a continuous variable likewise. Missing values are counted
as a value of their own (a missing race, sex or value is its own group), as
anonymity checkers such as pycanon count them; SQL's GROUP BY does exactly
that. Everything here is one GROUP BY in DuckDB, so a million rows cost little.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import TYPE_CHECKING, Any

from ..backends.columns import quote
from ..backends.values import plain

if TYPE_CHECKING:
    from ..backends.sql import Connection

MISSING_NOTE = ("missing values count as a value of their own in every count (a missing race, sex or value is "
                "its own group), as anonymity checkers such as pycanon count them")


def literal(value: Any) -> str:
    """A Python value as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, decimal.Decimal)):
        return repr(float(value)) if isinstance(value, decimal.Decimal) else repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return "'" + value.isoformat() + "'"
    return "'" + str(value).replace("'", "''") + "'"


def order_key(name: str, is_text: bool) -> str:
    """SQL ordering a column's values by size, also when protection made them text ("90+", "<=80")."""
    c = quote(name)
    if not is_text:
        return c
    return f"TRY_CAST(NULLIF(regexp_replace({c}, '[^0-9.eE-]', '', 'g'), '') AS DOUBLE)"


def _cell(row: tuple, cells: list[str]) -> dict[str, Any]:
    return {c: plain(v) for c, v in zip(cells, row)}


def value_counts(con: Connection, relation: str, cells: list[str], column: str) -> list[dict]:
    """Count of each (race, sex, value), smallest first (missing values are values too)."""
    keys = [quote(c) for c in cells] + [quote(column)]
    order = ", ".join(f"{k} NULLS FIRST" for k in keys)
    sql = f"SELECT {', '.join(keys)}, count(*) AS n FROM {relation} GROUP BY ALL ORDER BY n, {order}"
    out = []
    for row in con.sql(sql).fetchall():
        out.append({**_cell(row, cells), "value": plain(row[-2]), "count": int(row[-1])})
    return out


def extremes(con: Connection, relation: str, cells: list[str], column: str,
             is_text: bool = False) -> list[dict]:
    """Per race–sex cell: the top and bottom values and how many participants share each."""
    key = order_key(column, is_text)
    c = quote(column)
    cell_sql = [quote(x) for x in cells]
    group = ", ".join(cell_sql + ["v", "k"])
    by = ", ".join(cell_sql) if cell_sql else "()"
    order = ", ".join(f"{x} NULLS FIRST" for x in cell_sql) or "1"
    select_cells = "".join(f"{x}, " for x in cell_sql)
    sql = (f"WITH g AS (SELECT {select_cells}{c} AS v, {key} AS k, count(*) AS n FROM {relation} "
           f"WHERE {key} IS NOT NULL GROUP BY {group}) "
           f"SELECT {select_cells}arg_max(v, k), arg_max(n, k), arg_min(v, k), arg_min(n, k), sum(n) "
           f"FROM g GROUP BY {by} ORDER BY {order}")
    out = []
    for row in con.sql(sql).fetchall():
        top, top_n, bottom, bottom_n, n = row[len(cells):]
        out.append({**_cell(row, cells), "top": plain(top), "top_count": int(top_n),
                    "bottom": plain(bottom), "bottom_count": int(bottom_n), "participants": int(n)})
    return out


def cell_check(counts: list[dict], min_cell: int, fields: tuple[str, ...] = ("count",)) -> dict[str, Any]:
    """Whether every count meets the minimum, with the failing entries (at most ten) for the log."""
    failing = [c for c in counts if any(c[f] < min_cell for f in fields)]
    return {"min_cell": min_cell, "min_cell_met": not failing, "failing": failing[:10],
            "failing_total": len(failing)}
