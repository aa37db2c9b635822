"""Checks across a topic's trials: each variable's distribution and missingness side by side, outliers flagged.

IPD meta-analysis groups check each trial's harmonised data against the
others' and against what the trial published before they pool. Per variable
and trial: rows, missing share, and for a number its mean, SD, median and range,
for a coded variable each code's share. A trial is flagged when a variable is
missing far more often than in the others (a share above 20% and above twice
the others'), when its mean lies more than one pooled SD from the others'
(another unit, another coding), or when a code's share differs from the others'
by more than 30 points; and when its participants or events (overall, or per
arm) differ from the figures its mapping declares as published. Flags ask for a
look; trials may differ for reasons of design, and the report says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends.columns import quote
from ..backends.sql import connect
from .dictionary import TRIAL, TopicDictionary

if TYPE_CHECKING:
    import pyarrow as pa

    from .mapping import Mapping

MISSING_SHARE, MISSING_RATIO, SMD, CODE_SHARE = 0.2, 2.0, 1.0, 0.3


@dataclass(frozen=True)
class Flag:
    trial: str
    variable: str
    what: str

    def to_json(self) -> dict[str, str]:
        return {"trial": self.trial, "variable": self.variable, "what": self.what}


@dataclass
class Comparison:
    trials: list[str]
    variables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # variable -> trial -> figures
    flags: list[Flag] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"trials": self.trials, "variables": self.variables, "flags": [f.to_json() for f in self.flags]}


def compare(rows: pa.Table, dictionary: TopicDictionary, published: dict[str, Mapping]) -> Comparison:
    """``rows``: a pooled version's; ``published``: each trial's mapping, whose ``published`` figures are checked."""
    con = connect(progress_bar=False)
    con.register("pooled", rows)
    trials = [t for (t,) in con.sql(f"SELECT DISTINCT {TRIAL} FROM pooled ORDER BY 1").fetchall()]
    result = Comparison(trials)
    for variable in dictionary.variables:
        if variable.role == "participant":
            continue
        coded = variable.values is not None or variable.type in ("string", "boolean")
        figures = _coded(con, variable.name) if coded else _numeric(con, variable.name)
        result.variables[variable.name] = figures
        result.flags += _missing_flags(variable.name, figures)
        result.flags += _code_flags(variable.name, figures) if coded else _mean_flags(variable.name, figures)
    result.flags += _published_flags(con, dictionary, published)
    return result


def _numeric(con, name: str) -> dict[str, dict[str, Any]]:
    c = quote(name)
    found = con.sql(f"SELECT {TRIAL}, count(*), count({c}), avg({c}), stddev_samp({c}), median({c}), min({c}), "
                    f"max({c}) FROM pooled GROUP BY {TRIAL} ORDER BY {TRIAL}").fetchall()
    return {t: {"rows": n, "missing": n - present, "missing_share": _share(n - present, n), "mean": _round(mean),
                "sd": _round(sd), "median": _round(median), "min": _plain(low), "max": _plain(high)}
            for t, n, present, mean, sd, median, low, high in found}


def _coded(con, name: str) -> dict[str, dict[str, Any]]:
    c = quote(name)
    totals = {t: (n, present) for t, n, present in
              con.sql(f"SELECT {TRIAL}, count(*), count({c}) FROM pooled GROUP BY {TRIAL}").fetchall()}
    shares: dict[str, dict[str, float]] = {t: {} for t in totals}
    for trial, value, n in con.sql(f"SELECT {TRIAL}, CAST({c} AS VARCHAR), count(*) FROM pooled WHERE {c} IS NOT NULL "
                                   f"GROUP BY ALL ORDER BY ALL").fetchall():
        shares[trial][value] = _share(n, totals[trial][1])
    return {t: {"rows": n, "missing": n - present, "missing_share": _share(n - present, n), "shares": shares[t]}
            for t, (n, present) in sorted(totals.items())}


def _missing_flags(name: str, figures: dict[str, dict[str, Any]]) -> list[Flag]:
    flags = []
    for trial, mine in figures.items():
        others = [f["missing_share"] for t, f in figures.items() if t != trial]
        if not others:
            continue
        typical = sorted(others)[len(others) // 2]
        if mine["missing_share"] == 1:
            flags.append(Flag(trial, name, "missing in every row: not mapped, or not recorded by the trial"))
        elif mine["missing_share"] > MISSING_SHARE and mine["missing_share"] > MISSING_RATIO * typical:
            flags.append(Flag(trial, name, f"missing in {mine['missing_share']:.0%} of rows, against "
                                           f"{typical:.0%} in the other trials"))
    return flags


def _mean_flags(name: str, figures: dict[str, dict[str, Any]]) -> list[Flag]:
    flags = []
    for trial, mine in figures.items():
        others = [f for t, f in figures.items() if t != trial and f["mean"] is not None]
        if mine["mean"] is None or not others:
            continue
        weight = sum(f["rows"] - f["missing"] for f in others)
        mean = sum(f["mean"] * (f["rows"] - f["missing"]) for f in others) / weight
        spread = [f["sd"] for f in others if f["sd"]]
        sd = math.sqrt(sum(s * s for s in spread) / len(spread)) if spread else None
        if sd and abs(mine["mean"] - mean) > SMD * sd:
            flags.append(Flag(trial, name, f"mean {mine['mean']:g} against {mean:.4g} in the other trials (more than "
                                           f"{SMD:g} SD, {sd:.3g}, apart): another unit or coding?"))
    return flags


def _code_flags(name: str, figures: dict[str, dict[str, Any]]) -> list[Flag]:
    flags = []
    for trial, mine in figures.items():
        others = [f for t, f in figures.items() if t != trial]
        present = sum(f["rows"] - f["missing"] for f in others)
        if not present:
            continue
        for code in sorted({c for f in figures.values() for c in f["shares"]}):
            theirs = sum(f["shares"].get(code, 0) * (f["rows"] - f["missing"]) for f in others) / present
            share = mine["shares"].get(code, 0.0)
            if abs(share - theirs) > CODE_SHARE:
                flags.append(Flag(trial, name, f"{code}: {share:.0%} of rows, against {theirs:.0%} in the other "
                                               "trials"))
    return flags


def _published_flags(con, dictionary: TopicDictionary, mappings: dict[str, Mapping]) -> list[Flag]:
    """Participants and events, overall or per arm, against the figures each trial's mapping declares."""
    arm, status = dictionary.role("arm"), dictionary.role("outcome_status")
    flags = []
    for trial, mapping in sorted(mappings.items()):
        for figure, declared in mapping.published.items():
            if figure == "events" and status is None:
                continue
            counted = f"count(*) FILTER (WHERE {quote(status.name)} = 1)" if figure == "events" else "count(*)"
            if isinstance(declared, dict) and arm is not None:
                found = dict(con.sql(f"SELECT CAST({quote(arm.name)} AS VARCHAR), {counted} FROM pooled "
                                     f"WHERE {TRIAL} = ? GROUP BY 1", params=[trial]).fetchall())
                for code, number in declared.items():
                    if found.get(str(code), 0) != number:
                        flags.append(Flag(trial, figure, f"{found.get(str(code), 0)} {figure} in arm {code}, "
                                                         f"{number} published"))
            else:
                (found,) = con.sql(f"SELECT {counted} FROM pooled WHERE {TRIAL} = ?", params=[trial]).fetchall()[0]
                if found != declared:
                    flags.append(Flag(trial, figure, f"{found} {figure} pooled, {declared} published"))
    return flags


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _round(value: Any) -> Any:
    return None if value is None else round(float(value), 4)


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
