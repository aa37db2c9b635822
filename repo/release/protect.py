"""Quasi-identifier protections as SQL: collapsing, top/bottom-coding and the age ceiling.

Each protection is written as a SQL expression over the release rows, so the
whole release is one DuckDB query however many columns are protected. Where
the rule needs the data (the thresholds of top- and bottom-coding), one
GROUP BY over the race–sex cells finds them for every variable at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends.columns import BOOLEAN, DECIMAL, INTEGER, NUMBER, STRING
from .cells import MISSING_NOTE, literal, plain

if TYPE_CHECKING:
    from ..backends.sql import Connection

NUMERIC = (INTEGER, NUMBER, DECIMAL)
CODED = ("trim", "topcode", "bottomcode")


@dataclass
class Draft:
    """A modification before its rows are counted and its cells checked."""

    variable: str
    action: str
    parameters: dict[str, Any]
    affected: str  # SQL aggregate over the release rows counting the rows it changes
    rationale: str
    check: str | None = None  # "values" (every value per cell) or "extremes" (top and bottom per cell)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Thresholds:
    top: Any
    bottom: Any
    small_cells: int  # cells with some values but fewer than min_cell: no threshold can protect them


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def matches(c: str, kind: str, values: list) -> str:
    """SQL true where column ``c`` (of logical type ``kind``) holds one of ``values`` (YAML values)."""
    parts = [f"{c} IS NULL"] if any(v is None for v in values) else []
    given = [v for v in values if v is not None]
    if kind in NUMERIC:
        numbers = [n for n in (_number(v) for v in given) if n is not None]
        listed = [literal(n) for n in numbers]
    elif kind == BOOLEAN:
        truth = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        flags = {truth.get(str(v).lower()) for v in given} - {None}
        listed = [literal(f) for f in sorted(flags)]
    else:
        c = c if kind == STRING else f"CAST({c} AS VARCHAR)"
        listed = [literal(v if isinstance(v, str) else str(v)) for v in given]
    if listed:
        parts.append(f"{c} IN ({', '.join(listed)})")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def collapse_sql(c: str, kind: str, groups: dict[str, list], otherwise: str) -> str:
    """The new value of each group; values in no group keep their own (as text)."""
    whens = " ".join(f"WHEN {matches(c, kind, list(old))} THEN {literal(str(new))}" for new, old in groups.items())
    return f"CASE {whens} ELSE {otherwise} END" if groups else otherwise


def collapse_words(groups: dict[str, list]) -> str:
    parts = [f"'{new}' = " + ", ".join("missing" if v is None else str(v) for v in old) for new, old in groups.items()]
    return "; ".join(parts)


def age_cap_sql(c: str, top: int) -> str:
    return f"CASE WHEN {c} >= {top} THEN {top} ELSE {c} END"


def age_text_sql(expr: str, top: int) -> str:
    """HIPAA Safe Harbor: one category for ages of ``top`` and over; the column becomes text."""
    return (f"CASE WHEN ({expr}) IS NULL THEN NULL WHEN ({expr}) >= {top} THEN '{top}+' "
            f"ELSE CAST(CAST(floor({expr}) AS BIGINT) AS VARCHAR) END")


def coded_sql(expr: str, top: Any, bottom: Any) -> str:
    """Values beyond a threshold become the threshold. (Not LEAST/GREATEST: DuckDB's skip NULLs.)"""
    whens = []
    if top is not None:
        whens.append(f"WHEN ({expr}) > {literal(top)} THEN {literal(top)}")
    if bottom is not None:
        whens.append(f"WHEN ({expr}) < {literal(bottom)} THEN {literal(bottom)}")
    return f"CASE {' '.join(whens)} ELSE {expr} END" if whens else expr


def find_thresholds(con: Connection, relation: str, cells: list[str],
                    variables: dict[str, tuple[str, str]], min_cell: int) -> dict[str, Thresholds]:
    """The least extreme thresholds such that at least ``min_cell`` participants share the top (bottom)
    value in every race–sex cell: per cell, the ``min_cell``-th largest (smallest) value; overall, the most
    extreme of those. ``variables``: name -> (numeric SQL, action)."""
    if not variables:
        return {}
    k = int(min_cell)
    parts = []
    for expr, _ in variables.values():
        parts += [f"max({expr}, {k})", f"min({expr}, {k})", f"count({expr})"]
    group = f" GROUP BY {', '.join(cells)}" if cells else ""
    rows = con.sql(f"SELECT {', '.join(parts)} FROM {relation}{group}").fetchall()
    out = {}
    for i, (name, (_, action)) in enumerate(variables.items()):
        tops, bottoms, small = [], [], 0
        for row in rows:
            largest, smallest, n = row[3 * i: 3 * i + 3]
            if n >= k:
                tops.append(largest[-1])
                bottoms.append(smallest[-1])
            elif n:
                small += 1
        top = min(tops) if tops and action in ("trim", "topcode") else None
        bottom = max(bottoms) if bottoms and action in ("trim", "bottomcode") else None
        if top is not None and bottom is not None and bottom > top:
            bottom = top  # too few distinct values to code both ends apart: one value for all
        out[name] = Thresholds(plain(top), plain(bottom), small)
    return out


def collapse_draft(name: str, action: str, groups: dict[str, list], affected: str, min_cell: int) -> Draft:
    what = "dichotomous" if action == "group" else "polychotomous"
    rule = "grouped" if action == "group" else "collapsed"
    return Draft(name, action, {"groups": {k: [plain(v) for v in vs] for k, vs in groups.items()}}, affected,
                 f"{what} quasi-identifier (NHLBI): values {rule} so that each is shared by at least "
                 f"{min_cell} participants in every race–sex cell; {MISSING_NOTE}", check="values")


def coded_draft(name: str, action: str, limits: Thresholds, expr: str, min_cell: int) -> Draft:
    ends = {"trim": "top- and bottom-coded", "topcode": "top-coded", "bottomcode": "bottom-coded"}[action]
    counts = []
    if limits.top is not None:
        counts.append(f"count(*) FILTER (WHERE ({expr}) > {literal(limits.top)})")
    if limits.bottom is not None:
        counts.append(f"count(*) FILTER (WHERE ({expr}) < {literal(limits.bottom)})")
    affected = " + ".join(counts) or "0"
    params: dict[str, Any] = {"top": limits.top, "bottom": limits.bottom}
    if limits.small_cells:
        params["cells_too_small"] = limits.small_cells
    extra = {"top_rows": counts[0] if limits.top is not None else None,
             "bottom_rows": counts[-1] if limits.bottom is not None else None}
    return Draft(name, action, params, affected,
                 f"continuous quasi-identifier (NHLBI): {ends} at the least extreme values that at least "
                 f"{min_cell} participants share in every race–sex cell; values beyond become the threshold; "
                 f"{MISSING_NOTE}", check="extremes", extra=extra)


def coded_words(limits: Thresholds) -> str:
    parts = []
    if limits.top is not None:
        parts.append(f"values above {limits.top} recorded as {limits.top}")
    if limits.bottom is not None:
        parts.append(f"values below {limits.bottom} recorded as {limits.bottom}")
    return "; ".join(parts) or "no threshold could be found"
