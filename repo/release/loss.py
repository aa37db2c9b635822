"""Information loss per variable: what protection cost, in figures a reviewer can weigh against the risk.

Per variable: distinct values before and after, cells changed (a released
value that now stands for more than one original value, or a suppressed one),
cells suppressed, and the normalised **non-uniform entropy** (de Waal &
Willenborg 1999; Gionis & Tassa 2009), the information-loss measure ARX uses
by default (Prasser et al., "Flexible data anonymization using ARX", Software:
Practice and Experience, 2020) and close to sdcMicro's entropy-based measures
(Templ, Kowarik & Meindl, JSS 67(4), 2015): a record whose original value v
is released as r loses log2(n(r) / n(v, r)) bits, i.e. the uncertainty about
v that knowing r leaves; a suppressed cell loses log2(N / n(v)), as if its
value were generalised to "any". Summed over records and divided by the loss
of releasing nothing (N times the variable's entropy) it runs from 0 (nothing
lost: a recoding that keeps every distinction costs nothing) to 1 (nothing
left). Everything is a GROUP BY in DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends.columns import quote

if TYPE_CHECKING:
    from ..backends.sql import Connection


def original(name: str) -> str:
    return quote(f"o:{name}")


def released(name: str) -> str:
    return quote(f"r:{name}")


def variable_losses(con: Connection, pairs: str, names: list[str], records: int) -> dict[str, dict[str, Any]]:
    """Per variable of ``names``: the loss between columns ``o:NAME`` and ``r:NAME`` of ``pairs``."""
    return {name: variable_loss(con, pairs, name, records) for name in names}


def variable_loss(con: Connection, pairs: str, name: str, records: int) -> dict[str, Any]:
    o, r = original(name), released(name)
    n = max(int(records), 1)
    sql = f"""
        WITH a AS (SELECT {o} AS o, {r} AS r, count(*) AS n FROM {pairs} GROUP BY ALL),
             vo AS (SELECT o, sum(n) AS nv FROM a GROUP BY o),
             rg AS (SELECT r, sum(n) AS nr, count(DISTINCT o) + max(CASE WHEN o IS NULL THEN 1 ELSE 0 END) AS d
                    FROM a GROUP BY r),
             j AS (SELECT a.*, vo.nv, rg.nr, rg.d, (a.r IS NULL AND a.o IS NOT NULL) AS sup FROM a
                   JOIN vo ON a.o IS NOT DISTINCT FROM vo.o JOIN rg ON a.r IS NOT DISTINCT FROM rg.r)
        SELECT coalesce(sum(CASE WHEN sup THEN n * log2({n} / nv) ELSE n * log2(nr / n) END), 0),
               coalesce(sum(n) FILTER (WHERE sup OR (o IS NOT NULL AND d > 1)), 0),
               coalesce(sum(n) FILTER (WHERE sup), 0),
               (SELECT coalesce(sum(nv * log2({n} / nv)), 0) FROM vo),
               (SELECT count(*) FROM vo WHERE o IS NOT NULL), (SELECT count(*) FROM rg WHERE r IS NOT NULL)
        FROM j"""
    lost, changed, suppressed, most, before, after = con.sql(sql).fetchall()[0]
    return {"distinct_before": int(before), "distinct_after": int(after), "records": int(records),
            "cells_changed": int(changed), "cells_suppressed": int(suppressed),
            "non_uniform_entropy": round(float(lost) / float(most), 4) if most and most > 1e-12 else 0.0}


def level_loss(con: Connection, relation: str, value: str, level: str, records: int) -> float:
    """The normalised non-uniform entropy of releasing SQL ``value`` as SQL ``level`` (a function of it)."""
    n = max(int(records), 1)
    lost, most = con.sql(f"""
        WITH a AS (SELECT {value} AS v, {level} AS g, count(*) AS n FROM {relation} GROUP BY ALL),
             b AS (SELECT g, sum(n) AS m FROM a GROUP BY g)
        SELECT coalesce(sum(a.n * log2(b.m / a.n)), 0), coalesce(sum(a.n * log2({n} / a.n)), 0)
        FROM a JOIN b ON a.g IS NOT DISTINCT FROM b.g""").fetchall()[0]
    return float(lost) / float(most) if most and most > 1e-12 else 0.0
