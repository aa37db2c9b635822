"""A trial as the integrity checks see it: its rows in DuckDB, the roles of its columns, its design.

Each family of checks (``integrity``, ``randomisation``, ``followup``,
``formulas``) reads the trial through this view, so one grouped pass per arm
(``profile``) serves the allocation, sequence and missing-data checks alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..backends import rowkey
from ..backends.columns import INTEGER, NUMBER, STRING, quote, type_class
from .results import MAX_KEYS

if TYPE_CHECKING:
    from ..backends.sql import Connection, Relation

MISSING_BATCH = 200  # missing-value counts a statement: a statement over thousands of columns is slow to plan


@dataclass
class Trial:
    """A trial's rows seen through its roles: ``t`` has one column per declared role.

    Columns of ``t``: ``k`` (key), ``arm``, the dates ``randomised``, ``death``,
    ``last_contact``, ``event_0``…, and ``flag``, ``time``, ``status``, ``dead``.
    """

    con: Connection
    relation: str
    schema: pa.Schema
    key: str
    roles: dict[str, Any]
    design: dict[str, Any]
    thresholds: dict[str, Any]
    select: dict[str, str] = field(default_factory=dict)  # alias in t -> SQL over the relation
    labels: dict[str, str] = field(default_factory=dict)  # alias in t -> "role (column)"
    columns: dict[str, list[str]] = field(default_factory=dict)  # alias in t -> the columns it is read from
    events: list[str] = field(default_factory=list)       # aliases of the other event dates
    event_codes: list[Any] | None = None  # the status values that are events, when not 0/1 or boolean
    count_missing: bool = False  # the missing-data check will run: its counts join the profile's query
    rows: str | None = None  # every row, when a participant has several (``relation`` then has one each)
    row_key: Any = None  # the key of ``rows``: the columns that together pick a row
    _profile: dict[Any, tuple] | None = None

    def every_row(self) -> Trial:
        """This view over every row, each named by its whole key: what is checked row by row (the order
        of dates on each episode or visit) when a participant has several rows."""
        if not self.rows:
            return self
        return replace(self, relation=self.rows, rows=None, select={**self.select, "k": rowkey.sql(self.row_key)},
                       _profile=None)

    def has(self, *aliases: str) -> bool:
        return all(a in self.select for a in aliases)

    def query(self, body: str, params: dict | None = None) -> Relation:
        """``body`` with ``t`` defined as the role view of the relation."""
        columns = ", ".join(f"{expr} AS {alias}" for alias, expr in self.select.items())
        body = body.strip()
        body = ", " + body[5:] if body.upper().startswith("WITH ") else " " + body
        return self.con.sql(f"WITH t AS (SELECT {columns} FROM {self.relation}){body}", params=params)

    def sql(self, body: str) -> list[tuple]:
        return self.query(body).fetchall()

    def sql_values(self, column: str, limit: int = 50) -> list[Any]:
        """The distinct non-missing values of ``column``, in order (a coded column's codes)."""
        c = quote(column)
        return [row[0] for row in self.con.sql(f"SELECT DISTINCT {c} FROM {self.relation} WHERE {c} IS NOT NULL "
                                               f"ORDER BY 1 LIMIT {limit}").fetchall()]

    def keys(self, condition: str) -> tuple[int, list[Any]]:
        """How many participants meet ``condition`` and the first MAX_KEYS of their keys, in key order."""
        rows = self.sql(f"SELECT count(*) OVER (), k FROM t WHERE {condition} ORDER BY k LIMIT {MAX_KEYS}")
        return (rows[0][0] if rows else 0), [r[1] for r in rows]

    def profile(self) -> dict[Any, tuple]:
        """Per arm, in DuckDB's order of arms and the missing arm (None) last: participants, the lowest
        and highest integer key, and (when ``count_missing``) missing values per ``missing_variables``.

        One grouped pass gives what the allocation, sequence and missing-data checks and ``arms``
        would otherwise each read the data for.
        """
        if self._profile is None:
            key = quote(self.key)
            extremes = f"min({key}), max({key})" if type_class(self.schema.field(self.key).type) == INTEGER \
                else "NULL, NULL"
            counts = [f"count(*) - count({present(f)})" for f in missing_variables(self)] if self.count_missing \
                else []
            rows = self._by_arm([f"count(*), {extremes}", *counts[:MISSING_BATCH]])  # the first batch in the same pass
            for start in range(MISSING_BATCH, len(counts), MISSING_BATCH):
                more = self._by_arm(counts[start:start + MISSING_BATCH])
                rows = [(*row, *extra[1:]) for row, extra in zip(rows, more)]
            self._profile = {r[0]: r[1:] for r in rows}
        return self._profile

    def _by_arm(self, aggregates: list[str]) -> list[tuple]:
        """``aggregates`` per arm, arms in DuckDB's order and the missing arm last (the same order in
        every call, so the rows of several calls line up)."""
        return self.con.sql(f"SELECT {self.select['arm']}, {', '.join(aggregates)} FROM {self.relation} "
                            "GROUP BY 1 ORDER BY 1 NULLS LAST").fetchall()

    def arms(self) -> list[Any]:
        """Arms as in the data, the planned ratio's order first: its first arm is the reference."""
        found = [a for a in self.profile() if a is not None]
        planned = [str(a) for a in (self.design.get("planned_ratio") or {})]
        found.sort(key=lambda a: planned.index(str(a)) if str(a) in planned else len(planned))
        return found


def missing_variables(trial: Trial) -> list[pa.Field]:
    """Every variable but the key, the arm and the dates of events (the ``death`` and ``events`` roles: such a
    date is missing when the event did not happen, so its missing share by arm is the treatment's effect, not
    missing data); DuckDB cannot name a column whose name is empty, so such a column cannot be counted."""
    events = trial.roles.get("events") or []
    skipped = {trial.key, trial.roles["arm"], trial.roles.get("death"),
               *(events if isinstance(events, list) else [events])}
    return [f for f in trial.schema if f.name and f.name not in skipped]


def present(f: pa.Field) -> str:
    """SQL for the value when present, NULL when missing (NaN and blank strings count as missing)."""
    c, kind = quote(f.name), type_class(f.type)
    if kind == NUMBER:
        return f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END"
    if kind == STRING:
        return f"nullif(trim({c}), '')"
    return c
