"""Local suppression: the few records still in classes smaller than k lose their quasi-identifiers.

After generalisation a handful of records may still be in equivalence classes
smaller than the tier's target k. ARX and sdcMicro suppress them rather than
generalise every record further: here each such record has every
quasi-identifier set to missing (the rest of the record, outcomes included, is
released as it is). The suppressed records form one class of their own
(missing counts as a value); when there would be fewer than k of them, the
smallest class of k or more joins them, so no class is left below k. All of it
happens only within the tier's declared share (``targets.suppression``, 5% by
default): when more records would have to go, none is suppressed and the plan
says the targets are missed. The records suppressed follow from the released
values alone (never from the release IDs), so the plan and the release agree.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..backends.columns import quote
from .risk import quasi_identifier_set

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection
    from .rules import ReleaseRules

RATIONALE = ("local suppression (ARX, sdcMicro): records still in an equivalence class smaller than k over the "
             "quasi-identifiers after generalisation have every quasi-identifier set to missing, within the "
             "declared share of records")


def apply(con: Connection, released: pa.Table, rules: ReleaseRules, tier: str,
          record_id: str) -> tuple[pa.Table, list[tuple]]:
    """``released`` with the tier's local suppression applied, and per quasi-identifier the modification's
    fields (variable, action, parameters, rows, rationale). Without targets for the tier (rules written before
    them) nothing changes."""
    targets = rules.targets.get(tier)
    qis = quasi_identifier_set(rules, released.column_names)
    if targets is None or not qis or not released.num_rows:
        return released, []
    k = int(targets.k)
    keys = [quote(q) for q in qis]
    con.register("unsuppressed", released)
    con.execute(f"CREATE OR REPLACE TEMP TABLE sup_classes AS SELECT {', '.join(keys)}, count(*) AS n "
                f"FROM unsuppressed GROUP BY ALL")
    none_known = " AND ".join(f"{k_} IS NULL" for k_ in keys)
    small, missing_class = con.sql(
        f"SELECT coalesce(sum(n) FILTER (WHERE n < {k}), 0), coalesce(max(n) FILTER (WHERE {none_known}), 0) "
        "FROM sup_classes").fetchall()[0]
    small, missing_class = int(small), int(missing_class)
    picked = f"SELECT {', '.join(keys)} FROM sup_classes WHERE n < {k}"
    needed = small
    if 0 < small < k and missing_class < k:  # too few to hide among: the smallest safe class joins them
        order = ", ".join(f"{k_} NULLS FIRST" for k_ in keys)
        extra = con.sql(f"SELECT n FROM sup_classes WHERE n >= {k} AND NOT ({none_known}) ORDER BY n, {order} "
                        "LIMIT 1").fetchall()
        if extra:
            needed += int(extra[0][0])
            picked += (f" UNION ALL (SELECT {', '.join(keys)} FROM sup_classes WHERE n >= {k} AND NOT "
                       f"({none_known}) ORDER BY n, {order} LIMIT 1)")
    limit = math.floor(targets.suppression * released.num_rows)
    applied = 0 < needed <= limit
    parameters = {"k": k, "records": needed if applied else 0, "limit": targets.suppression,
                  "records_needed": needed, "applied": applied or needed == 0}
    cells = {q: 0 for q in qis}
    if applied:
        con.execute(f"CREATE OR REPLACE TEMP TABLE sup_picked AS SELECT *, TRUE AS __hit FROM ({picked})")
        on = " AND ".join(f"u.{k_} IS NOT DISTINCT FROM p.{k_}" for k_ in keys)
        columns = ", ".join(f"CASE WHEN p.__hit THEN NULL ELSE u.{quote(c)} END AS {quote(c)}" if c in qis
                            else f"u.{quote(c)}" for c in released.column_names)
        counted = ", ".join(f"count(u.{quote(q)}) FILTER (WHERE p.__hit)" for q in qis)
        found = con.sql(f"SELECT {counted} FROM unsuppressed u LEFT JOIN sup_picked p ON {on}").fetchall()[0]
        cells = {q: int(n) for q, n in zip(qis, found)}
        result = con.sql(f"SELECT {columns} FROM unsuppressed u LEFT JOIN sup_picked p ON {on} "
                         f"ORDER BY u.{quote(record_id)}").to_arrow_table()
        released = result.cast(released.schema).combine_chunks()
    note = "" if applied or needed == 0 else (f"; NOT applied: {needed} records would be suppressed, more than "
                                              f"{targets.suppression:.0%} of {released.num_rows}")
    return released, [(q, "suppress", dict(parameters), cells[q], RATIONALE + note) for q in qis]
