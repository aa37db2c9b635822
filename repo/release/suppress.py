"""Local suppression of cells: the few records still in classes smaller than k lose the fewest values needed.

After generalisation a handful of records may still be in equivalence classes
smaller than the tier's target k. ARX and sdcMicro (``localSuppression``)
suppress values of those records rather than generalise every record further,
and they suppress cells, not whole records: a record that is unique on sex and
age band needs only its age band blanked if that puts it among k others. Here:
for the records of each class smaller than k, the suppression patterns (sets
of quasi-identifiers to blank) are tried from the fewest cells up, and among
patterns of one size the variable with the most distinct values first (sdcMicro's
default importance: the variable with the most categories is suppressed
first, the one with few is kept); a class takes the first pattern that puts
it, with the records already there and the other small classes that blank the
same way, in a class of at least k. Records in classes of k or more are never
touched, and the outcomes and every other column stay as they are.

**A missing value counts as a value of its own** (the records blanked to
``sex f, age band missing`` form one class), as in every other figure of the
release (``risk``, ``disclosure``) and as pycanon counts. This is the safe
reading, not sdcMicro's wildcard one (a missing value matching any value): an
attacker who knows a participant's values cannot rule out a released record
that agrees on its known values and is missing the rest, so the records they
cannot tell from the participant include the whole of its released class, and
the class size is a lower bound of the attacker's uncertainty. Wildcard counts
(records agreeing wherever both are known) can exceed that uncertainty: a
unique 30-year-old man with his age blanked matches every man by wildcard, yet
an attacker who knows the age is left with him and any man whose age is also
missing. So k and the average risk reported are never better than the truth.

The few small classes that no pattern places among k others (the all-missing
class still below k) are joined by the smallest class of k or more, every
quasi-identifier of both blanked, so that no class is left below k. All of it
happens only within the tier's declared share of records touched
(``targets.suppression``, 5% by default): when more records would lose a cell,
none does and the plan says the targets are missed. What is suppressed follows
from the released values alone (never from the release IDs), so the plan and
the release agree; it is a few GROUP BYs over the classes in DuckDB.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

from ..backends.columns import quote
from .risk import quasi_identifier_set

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection
    from .rules import ReleaseRules

RATIONALE = ("local suppression of cells (ARX, sdcMicro): each record still in an equivalence class smaller than "
             "k over the quasi-identifiers after generalisation has the fewest of its quasi-identifiers set to "
             "missing that put it in a class of at least k (the variable with the most distinct values first), "
             "within the declared share of records; a missing value counts as a value of its own")
MAX_PATTERNS = 255  # beyond 8 quasi-identifiers, patterns of up to 3 variables are tried, then all of them


def apply(con: Connection, released: pa.Table, rules: ReleaseRules, tier: str,
          record_id: str) -> tuple[pa.Table, list[tuple]]:
    """``released`` with the tier's local suppression applied, and per quasi-identifier the modification's
    fields (variable, action, parameters, cells suppressed, rationale). Without targets for the tier (rules
    written before them) nothing changes."""
    targets = rules.targets.get(tier)
    qis = quasi_identifier_set(rules, released.column_names)
    if targets is None or not qis or not released.num_rows:
        return released, []
    k = int(targets.k)
    con.register("unsuppressed", released)
    cells = Cells(con, qis, k)
    cells.run()
    records, per_variable = cells.counts()
    limit = math.floor(targets.suppression * released.num_rows)
    applied = 0 < records <= limit
    parameters = {"k": k, "records": records if applied else 0, "cells": sum(per_variable) if applied else 0,
                  "limit": targets.suppression, "records_needed": records, "applied": applied or records == 0}
    if applied:
        keys = [quote(q) for q in qis]
        on = " AND ".join(f"u.{c} IS NOT DISTINCT FROM p.{c}" for c in keys)
        flags = {q: f"p.__s{i}" for i, q in enumerate(qis)}
        columns = ", ".join(f"CASE WHEN {flags[c]} THEN NULL ELSE u.{quote(c)} END AS {quote(c)}" if c in flags
                            else f"u.{quote(c)}" for c in released.column_names)
        result = con.sql(f"SELECT {columns} FROM unsuppressed u LEFT JOIN ({cells.moved()}) p ON {on} "
                         f"ORDER BY u.{quote(record_id)}").to_arrow_table()
        released = result.cast(released.schema).combine_chunks()
    note = "" if applied or records == 0 else (f"; NOT applied: {records} records would lose cells, more than "
                                               f"{targets.suppression:.0%} of {released.num_rows}")
    return released, [(q, "suppress", dict(parameters), n if applied else 0, RATIONALE + note)
                      for q, n in zip(qis, per_variable)]


class Cells:
    """The cells to suppress, class by class: ``sup_classes`` holds each class of the released values (its id,
    its values, its records), ``sup_moves`` each small class placed and the quasi-identifiers it blanks."""

    def __init__(self, con: Connection, qis: list[str], k: int) -> None:
        self.con, self.qis, self.k = con, qis, k
        self.keys = [quote(q) for q in qis]
        order = ", ".join(f"{c} NULLS FIRST" for c in self.keys)
        con.execute(f"CREATE OR REPLACE TEMP TABLE sup_classes AS SELECT row_number() OVER (ORDER BY {order}) "
                    f"AS __cid, * FROM (SELECT {', '.join(self.keys)}, count(*) AS __n FROM unsuppressed GROUP BY ALL)")
        flags = ", ".join(f"__s{i} BOOLEAN" for i in range(len(qis)))
        con.execute(f"CREATE OR REPLACE TEMP TABLE sup_moves (__cid BIGINT, {flags})")
        distinct = con.sql(f"SELECT {', '.join(f'count(DISTINCT {c})' for c in self.keys)} FROM sup_classes"
                           ).fetchall()[0]
        self.order = sorted(range(len(qis)), key=lambda i: (-int(distinct[i]), i))  # suppressed first

    def _match(self, a: str, b: str) -> str:
        return " AND ".join(f"{a}.{c} IS NOT DISTINCT FROM {b}.{c}" for c in self.keys)

    def _now(self) -> str:
        """Every class's values as they stand (blanked where it was placed), and whether it is still small."""
        values = ", ".join(f"CASE WHEN m.__s{i} THEN NULL ELSE c.{c} END AS {c}" for i, c in enumerate(self.keys))
        return (f"SELECT c.__cid, c.__n, {values}, (c.__n < {self.k} AND m.__cid IS NULL) AS __pending "
                "FROM sup_classes c LEFT JOIN sup_moves m USING (__cid)")

    def patterns(self) -> list[tuple[int, ...]]:
        n = len(self.qis)
        sizes = range(1, n + 1) if 2 ** n - 1 <= MAX_PATTERNS else [1, 2, 3, n]
        return [p for size in sizes for p in itertools.combinations(self.order, size)]

    def pending(self) -> int:
        """The small classes not yet placed, with ``sup_now`` (the classes as they stand) made afresh: every
        pattern reads it, and it changes only when a pattern placed some."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE sup_now AS {self._now()}")
        return int(self.con.sql("SELECT count(*) FROM sup_now WHERE __pending").fetchall()[0][0])

    def run(self) -> None:
        if not self.pending():
            return
        for pattern in self.patterns():
            if self._place(pattern) and not self.pending():
                return
        self._pad()

    def _place(self, pattern: tuple[int, ...]) -> int:
        """Place the small classes that ``pattern`` puts in a class of at least k (with the records already
        there and the other small classes blanked the same way); returns how many it placed."""
        blank = set(pattern)
        target = ", ".join(f"CASE WHEN FALSE THEN {c} END AS {c}" if i in blank else c
                           for i, c in enumerate(self.keys))
        flags = ", ".join("TRUE" if i in blank else "FALSE" for i in range(len(self.keys)))
        keys = ", ".join(self.keys)
        # only a class already missing the blanked values can take the blanked records in: the others are not read
        missing = "".join(f" AND {c} IS NULL" for i, c in enumerate(self.keys) if i in blank)
        return self._inserted(f"""
            INSERT INTO sup_moves
            WITH now AS (SELECT * FROM sup_now),
                 t AS (SELECT __cid, __n, {target} FROM now WHERE __pending),
                 w AS (SELECT {keys}, sum(__n) AS m FROM t GROUP BY ALL),
                 s AS (SELECT {keys}, sum(__n) AS m FROM now WHERE NOT __pending{missing} GROUP BY ALL)
            SELECT t.__cid, {flags} FROM t JOIN w ON {self._match('t', 'w')} LEFT JOIN s ON {self._match('t', 's')}
            WHERE w.m + coalesce(s.m, 0) >= {self.k}""")

    def _inserted(self, sql: str) -> int:
        found = self.con.execute(sql).fetchall()
        return int(found[0][0]) if found else 0

    def _pad(self) -> None:
        """The small classes left (too few even with every quasi-identifier blanked) are joined by the smallest
        class of at least k, every quasi-identifier of both blanked."""
        keys = ", ".join(self.keys)
        every = ", ".join(["TRUE"] * len(self.keys))
        known = " OR ".join(f"{c} IS NOT NULL" for c in self.keys)
        order = ", ".join(f"{c} NULLS FIRST" for c in self.keys)
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE sup_pad AS
            WITH now AS ({self._now()})
            SELECT __cid FROM now WHERE __pending
            UNION ALL
            SELECT now.__cid FROM now JOIN (SELECT {keys}, sum(__n) AS m FROM now WHERE NOT __pending AND ({known})
                                            GROUP BY ALL ORDER BY m, {order} LIMIT 1) p ON {self._match('now', 'p')}""")
        self.con.execute("DELETE FROM sup_moves WHERE __cid IN (SELECT __cid FROM sup_pad)")
        self.con.execute(f"INSERT INTO sup_moves SELECT __cid, {every} FROM sup_pad")

    def moved(self) -> str:
        """SQL: each placed class's values as released before suppression, and its flags."""
        flags = ", ".join(f"m.__s{i}" for i in range(len(self.keys)))
        return f"SELECT {', '.join(f'c.{c}' for c in self.keys)}, {flags} FROM sup_classes c JOIN sup_moves m USING (__cid)"

    def counts(self) -> tuple[int, list[int]]:
        """Records that lose at least one cell, and the cells each quasi-identifier loses (a value already
        missing is not suppressed again)."""
        lost = [f"(m.__s{i} AND c.{c} IS NOT NULL)" for i, c in enumerate(self.keys)]
        row = self.con.sql(f"SELECT coalesce(sum(c.__n) FILTER (WHERE {' OR '.join(lost)}), 0), "
                           + ", ".join(f"coalesce(sum(c.__n) FILTER (WHERE {x}), 0)" for x in lost)
                           + " FROM sup_classes c JOIN sup_moves m USING (__cid)").fetchall()[0]
        return int(row[0]), [int(v) for v in row[1:]]
