"""Disclosure figures of a release, computed from the released rows themselves.

A reviewer needs to know what an attacker holding the release faces, not what
the rules intended: the quasi-identifier set, the joint k-anonymity over it,
the smallest race–sex cell counts of each protected variable, prosecutor risk
(the chance of re-identifying a record whose quasi-identifiers are known is
1/k of its equivalence class), sample uniques, and what the protection cost
(variables dropped, categories merged, values top/bottom-coded, participants
excluded). Missing values count as a value of their own, as pycanon counts them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends.columns import BOOLEAN, STRING, quote, type_class
from ..backends.sql import connect
from .cells import MISSING_NOTE, cell_check, extremes, literal, plain, value_counts
from .protect import CODED, NUMERIC
from .rules import ReleaseRules

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection
    from .deidentify import Modification

RISK_THRESHOLD = 0.2  # a record is at risk when 1/k exceeds this, i.e. its class has fewer than 5 records
MAX_CATEGORIES = 12


@dataclass
class Disclosure:
    quasi_identifiers: list[str]
    min_cell: int
    records: int
    k: int | None  # smallest equivalence class over the whole quasi-identifier set (None: no records)
    equivalence_classes: int
    prosecutor: dict[str, Any]  # max, mean (over records) of 1/k; share of records with 1/k > threshold
    sample_uniques: int  # records alone in their class (k = 1)
    cells: list[dict]  # size of each race–sex cell
    polychotomous: dict[str, dict] = field(default_factory=dict)  # smallest count per (race, sex, value)
    continuous: dict[str, dict] = field(default_factory=dict)  # per cell: top/bottom values, how many share
    information_lost: dict[str, Any] = field(default_factory=dict)
    missing_values: str = MISSING_NOTE

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def disclosure(release: pa.Table, rules: ReleaseRules, original: pa.Table, excluded: dict,
               modifications: list[Modification] | None = None, centres: bool = True) -> Disclosure:
    """Figures for ``release`` (made from ``original`` by ``rules``).

    ``modifications`` (the log of the same release) gives the exact numbers of values top/bottom-coded
    among the released participants; without it they are counted over every participant of ``original``.
    ``centres``: count the recoded centre columns among the quasi-identifiers (False only to rebuild the
    releases of package format 2 and earlier, whose figures left them out).
    """
    con = connect()
    con.register("rel", release)
    con.register("orig", original)
    names = release.column_names
    kinds = {f.name: type_class(f.type) for f in release.schema}
    cells = [c for c in (rules.race, rules.sex) if c and c in names]
    qis = quasi_identifiers(rules, names, centres)
    k, classes, risk, uniques = _anonymity(con, qis, release.num_rows)
    result = Disclosure(qis, rules.min_cell, release.num_rows, k, classes, risk, uniques,
                        _cell_sizes(con, cells))
    protected = {p.column: p.action for p in rules.quasi_identifiers if p.column in names}
    if rules.age.column in names:
        protected.setdefault(rules.age.column, "age")
    for name, action in protected.items():
        if _is_continuous(con, name, action, kinds[name], rules):
            rows = extremes(con, "rel", cells, name, kinds[name] not in NUMERIC)
            result.continuous[name] = {**cell_check(rows, rules.min_cell, ("top_count", "bottom_count")),
                                       "cells": rows}
        else:
            counts = value_counts(con, "rel", cells, name)
            result.polychotomous[name] = {**cell_check(counts, rules.min_cell),
                                          "smallest": counts[0] if counts else None}
    result.information_lost = _information_lost(con, rules, release, original, excluded, modifications)
    return result


def quasi_identifiers(rules: ReleaseRules, names: list[str], centres: bool = True) -> list[str]:
    """The quasi-identifier set of a release with columns ``names``: race, sex, age, the protected
    quasi-identifiers and the recoded centre columns, in that order, each once.

    A centre is a quasi-identifier: who took part where is known from the centres' own lists and publications,
    and a recoded centre still splits every equivalence class (re-identification by centre + age + arm was
    71% on CGD). A deleted centre column is not released, so not in the set.
    """
    wanted = [rules.race, rules.sex, rules.age.column] + [p.column for p in rules.quasi_identifiers]
    if centres:
        wanted += centre_columns(rules, names)
    out: list[str] = []
    for name in wanted:
        if name and name in names and name not in out:
            out.append(name)
    return out


def centre_columns(rules: ReleaseRules, names: list[str]) -> list[str]:
    """The centre columns a release carries, recoded (the rules delete the others)."""
    from .codes import recoded

    return [c for c, kind in recoded(rules, names).items() if kind == "centre"]


def _anonymity(con: Connection, qis: list[str], records: int) -> tuple:
    """Joint k, classes, prosecutor risk and sample uniques; GROUP BY keeps missing values as one group."""
    if not records:
        return None, 0, {"max": 0.0, "mean": 0.0, "threshold": RISK_THRESHOLD, "share_above": 0.0}, 0
    group = f" GROUP BY {', '.join(quote(q) for q in qis)}" if qis else ""
    k, classes, at_risk, uniques = con.sql(
        f"SELECT min(n), count(*), coalesce(sum(n) FILTER (WHERE 1.0 / n > {RISK_THRESHOLD}), 0), "
        f"count(*) FILTER (WHERE n = 1) FROM (SELECT count(*) AS n FROM rel{group})").fetchall()[0]
    risk = {"max": round(1 / k, 6), "mean": round(classes / records, 6), "threshold": RISK_THRESHOLD,
            "share_above": round(int(at_risk) / records, 6)}
    return int(k), int(classes), risk, int(uniques)


def _cell_sizes(con: Connection, cells: list[str]) -> list[dict]:
    if not cells:
        return [{"count": con.sql("SELECT count(*) FROM rel").fetchall()[0][0]}]
    keys = ", ".join(quote(c) for c in cells)
    order = ", ".join(f"{quote(c)} NULLS FIRST" for c in cells)
    rows = con.sql(f"SELECT {keys}, count(*) FROM rel GROUP BY ALL ORDER BY {order}").fetchall()
    return [{**{c: plain(v) for c, v in zip(cells, row)}, "count": int(row[-1])} for row in rows]


def _is_continuous(con: Connection, name: str, action: str, kind: str,
                   rules: ReleaseRules) -> bool:
    if action in CODED or action == "age" or name == rules.age.column:
        return True
    if action in ("collapse", "group") or kind in (STRING, BOOLEAN) or name in (rules.race, rules.sex):
        return False
    distinct = con.sql(f"SELECT count(DISTINCT {quote(name)}) FROM rel").fetchall()[0][0]
    return kind in NUMERIC and distinct > MAX_CATEGORIES


def _information_lost(con: Connection, rules: ReleaseRules, release: pa.Table,
                      original: pa.Table, excluded: dict, modifications: list[Modification] | None) -> dict:
    names = set(release.column_names)
    pid = rules.participant_id
    lost: dict[str, Any] = {
        "variables_dropped": [c for c in original.column_names if c not in names and c != pid],
        "replaced": {pid: "release_id"} if pid in original.column_names else {},
        "categories": {}, "coded": {},
        "records": {"original": original.num_rows, "released": release.num_rows,
                    "excluded": {k: int(v) for k, v in excluded.items()}},
    }
    logged = {(m.variable, m.action): m for m in modifications or []}
    for p in rules.quasi_identifiers:
        c = quote(p.column)
        if p.column not in names or p.column not in original.column_names:
            continue
        if p.action in ("collapse", "group"):
            before = con.sql(f"SELECT count(DISTINCT {c}) FROM orig").fetchall()[0][0]
            after = [plain(v) for (v,) in con.sql(f"SELECT DISTINCT {c} FROM rel WHERE {c} IS NOT NULL "
                                                  "ORDER BY 1").fetchall()]
            lost["categories"][p.column] = {"before": int(before), "after": len(after), "values": after}
        elif p.action in CODED:
            lost["coded"][p.column] = _coded(con, p.column, p.action, logged.get((p.column, p.action)), rules)
    age = rules.age.column
    if age and age in names and age in original.column_names:
        m = logged.get((age, "age_top"))
        n = m.rows_affected if m else con.sql(
            f"SELECT count(*) FROM orig WHERE {quote(age)} >= {rules.age.top}").fetchall()[0][0]
        lost["coded"].setdefault(age, {})["top_category"] = {
            "category": f"{rules.age.top}+", "values": int(n), "counted_in": "release" if m else "original"}
    return lost


def _coded(con: Connection, name: str, action: str, logged: Modification | None,
           rules: ReleaseRules) -> dict[str, Any]:
    """Thresholds and how many values they replaced."""
    if logged is not None:
        p = logged.parameters
        return {"top": p.get("top"), "bottom": p.get("bottom"), "values_top_coded": p.get("rows_top_coded", 0),
                "values_bottom_coded": p.get("rows_bottom_coded", 0), "counted_in": "release"}
    c = quote(name)
    is_text = name == rules.age.column
    key = f"TRY_CAST(regexp_replace({c}, '[^0-9.eE-]', '', 'g') AS DOUBLE)" if is_text else c
    top, bottom = con.sql(f"SELECT max({key}), min({key}) FROM rel").fetchall()[0]
    top = top if action in ("trim", "topcode") else None
    bottom = bottom if action in ("trim", "bottomcode") else None
    above = below = 0
    if top is not None:
        above = con.sql(f"SELECT count(*) FROM orig WHERE {c} > {literal(top)}").fetchall()[0][0]
    if bottom is not None:
        below = con.sql(f"SELECT count(*) FROM orig WHERE {c} < {literal(bottom)}").fetchall()[0][0]
    return {"top": plain(top), "bottom": plain(bottom), "values_top_coded": int(above),
            "values_bottom_coded": int(below), "counted_in": "original"}
