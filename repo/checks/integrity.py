"""Integrity checks IPD meta-analysis groups run on every trial before analysis.

They look for what a data dictionary cannot see: whether the randomisation
looks random (allocation ratio, baseline balance, weekday, accrual, ID
sequence), whether dates are in a possible order, how complete follow-up is,
whether missing data differ by arm, and whether the data reproduce the
figures the trial published. Each check runs only when the roles and design
items it needs are declared in the trial's ``dataset.yaml``.

Every figure is an aggregate computed by DuckDB over the trial's relation;
only row-level failures fetch participant keys (at most ``MAX_KEYS``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ..columns import BOOLEAN, DATE, DATETIME, DECIMAL, INTEGER, NUMBER, STRING, quote, type_class
from ..errors import InvalidInput
from . import followup
from .results import MAX_KEYS, CheckResult, Figure

DEFAULTS: dict[str, Any] = {
    "standardised_difference": 0.1,   # |d| above this is an imbalance
    "allocation_p": 0.01,             # chi-square goodness of fit, observed vs planned ratio
    "weekday_p": 0.01,                # chi-square independence, weekday × arm
    "accrual_p": 0.01,                # chi-square independence, period × arm
    "sequence_p": 0.01,               # runs test on the arm sequence ordered by ID
    "accrual_period": "quarter",      # "month", "quarter" or "year"
    "loss_to_follow_up_days": 365,    # alive and last seen more than this before the cut-off
    "missing_difference": 0.10,       # largest difference in missing share between arms
    "missing_min_count": 10,          # ... when at least this many are missing
}
PERIODS = ("month", "quarter", "year")
NEAR_SEQUENTIAL = 0.5  # IDs fill at least this share of their range: a sequence worth testing
MIN_ALTERNATION = 10  # strict alternation of fewer participants proves nothing
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NUMERIC = (INTEGER, NUMBER, DECIMAL)
# Formats tried after ISO 8601 for dates delivered as text, in this order.
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d",
                "%d%b%Y", "%d-%b-%Y", "%d %b %Y")
# Day/month orders that cannot be told apart when every day is 12 or less.
AMBIGUOUS = {"%d/%m/%Y": "%m/%d/%Y", "%m/%d/%Y": "%d/%m/%Y", "%d-%m-%Y": "%m-%d-%Y", "%m-%d-%Y": "%d-%m-%Y"}
TRUE_WORDS = ("1", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "false", "f", "no", "n")


@dataclass
class Trial:
    """A trial's rows seen through its roles: ``t`` has one column per declared role.

    Columns of ``t``: ``k`` (key), ``arm``, the dates ``randomised``, ``death``,
    ``last_contact``, ``event_0``…, and ``flag``, ``time``, ``status``, ``dead``.
    """

    con: duckdb.DuckDBPyConnection
    relation: str
    schema: pa.Schema
    key: str
    roles: dict[str, Any]
    design: dict[str, Any]
    thresholds: dict[str, Any]
    select: dict[str, str] = field(default_factory=dict)  # alias in t -> SQL over the relation
    labels: dict[str, str] = field(default_factory=dict)  # alias in t -> "role (column)"
    events: list[str] = field(default_factory=list)       # aliases of the other event dates
    _arms: list[Any] | None = None

    def has(self, *aliases: str) -> bool:
        return all(a in self.select for a in aliases)

    def sql(self, body: str) -> list[tuple]:
        """Run ``body`` with ``t`` defined as the role view of the relation."""
        columns = ", ".join(f"{expr} AS {alias}" for alias, expr in self.select.items())
        body = body.strip()
        body = ", " + body[5:] if body.upper().startswith("WITH ") else " " + body
        return self.con.sql(f"WITH t AS (SELECT {columns} FROM {self.relation}){body}").fetchall()

    def keys(self, condition: str) -> tuple[int, list[Any]]:
        """How many participants meet ``condition`` and the first MAX_KEYS of their keys, in key order."""
        rows = self.sql(f"SELECT count(*) OVER (), k FROM t WHERE {condition} ORDER BY k LIMIT {MAX_KEYS}")
        return (rows[0][0] if rows else 0), [r[1] for r in rows]

    def arms(self) -> list[Any]:
        """Arms as in the data, the planned ratio's order first: its first arm is the reference."""
        if self._arms is None:
            found = [r[0] for r in self.sql("SELECT DISTINCT arm FROM t WHERE arm IS NOT NULL ORDER BY arm")]
            planned = [str(a) for a in (self.design.get("planned_ratio") or {})]
            found.sort(key=lambda a: planned.index(str(a)) if str(a) in planned else len(planned))
            self._arms = found
        return self._arms


def run(con: duckdb.DuckDBPyConnection, relation: str, schema: pa.Schema, metadata: dict,
        thresholds: dict | None = None) -> list[CheckResult]:
    """All integrity checks whose roles and design items are declared, in a fixed order."""
    trial = trial_view(con, relation, schema, metadata, merged_thresholds(thresholds or {}))
    results: list[CheckResult] = []
    if trial.has("arm"):
        if trial.design.get("planned_ratio"):
            results.append(allocation(trial))
        if trial.roles.get("baseline"):
            results.append(balance(trial))
        if trial.has("randomised"):
            results += [weekday(trial), accrual(trial)]
        results.append(sequence(trial))
    results += dates(trial)
    results += followup.run(trial)
    if trial.has("arm"):
        results.append(missing(trial))
    results += publication(trial)
    return results


# --- inputs -----------------------------------------------------------------------------------

def merged_thresholds(given: dict) -> dict[str, Any]:
    """Defaults overridden by the repository's; keys for other checks are left alone."""
    merged = dict(DEFAULTS)
    for name, value in given.items():
        if name not in DEFAULTS:
            continue
        if name == "accrual_period":
            if value not in PERIODS:
                raise InvalidInput(f"thresholds.{name}: expected one of {', '.join(PERIODS)}, got {value!r}")
        elif not _is_number(value) or value < 0:
            raise InvalidInput(f"thresholds.{name}: expected a non-negative number, got {value!r}")
        merged[name] = value
    return merged


def trial_view(con, relation: str, schema: pa.Schema, metadata: dict, thresholds: dict) -> Trial:
    key = metadata.get("key")
    if not isinstance(key, str) or key not in schema.names:
        raise InvalidInput(f"key: column {key!r} is not in the data")
    roles = metadata.get("roles") or {}
    if not isinstance(roles, dict):
        raise InvalidInput(f"roles: expected a mapping of role to column, got {roles!r}")
    roles = dict(roles)
    for listed in ("baseline", "events"):
        if isinstance(roles.get(listed), str):
            roles[listed] = [roles[listed]]
    trial = Trial(con, quote(relation), schema, key, roles, _design(metadata.get("design") or {}), thresholds)
    _check_columns(trial)
    trial.select["k"] = quote(key)
    if roles.get("arm"):
        trial.select["arm"] = quote(roles["arm"])
    _add_dates(trial)
    _add_indicators(trial)
    return trial


def _check_columns(trial: Trial) -> None:
    """Every declared role must name a column of the data."""
    for role, value in trial.roles.items():
        names = value if isinstance(value, list) else [value]
        for name in names:
            if not isinstance(name, str):
                raise InvalidInput(f"roles.{role}: expected a column name, got {name!r}")
            if name not in trial.schema.names:
                raise InvalidInput(f"roles.{role}: column {name!r} is not in the data")


def _design(design: Any) -> dict[str, Any]:
    """The design items, with the cut-off as a date, ratios positive and published figures whole numbers."""
    if not isinstance(design, dict):
        raise InvalidInput(f"design: expected a mapping of design items, got {design!r}")
    design = dict(design)
    if design.get("cutoff") is not None:
        design["cutoff"] = _as_date(design["cutoff"], "design.cutoff")
    ratios = design.get("planned_ratio") or {}
    if not isinstance(ratios, dict):
        raise InvalidInput(f"design.planned_ratio: expected a ratio per arm, e.g. {{A: 1, B: 1}}, got {ratios!r}")
    for arm, ratio in ratios.items():
        if not _is_number(ratio) or ratio <= 0:
            raise InvalidInput(f"design.planned_ratio: arm {arm!r} has ratio {ratio!r}, expected a positive number")
    for what, figures in (design.get("publication") or {}).items():
        counts = figures.values() if isinstance(figures, dict) else [figures]
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
            raise InvalidInput(f"design.publication.{what}: expected a count, or a count per arm, got {figures!r}")
    return design


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{where}: {value!r} is not a date (expected YYYY-MM-DD)") from None


def _add_dates(trial: Trial) -> None:
    single = [("randomised", "randomised"), ("death", "death"), ("last_contact", "last_contact")]
    events = [(f"event_{i}", "events", name) for i, name in enumerate(trial.roles.get("events") or [])]
    for alias, role in single:
        if trial.roles.get(role):
            _add_date(trial, alias, role, trial.roles[role])
    for alias, role, name in events:
        _add_date(trial, alias, role, name)
        trial.events.append(alias)


def _add_date(trial: Trial, alias: str, role: str, column: str) -> None:
    kind = type_class(trial.schema.field(column).type)
    c = quote(column)
    if kind == DATE:
        expr = c
    elif kind == DATETIME:
        expr = f"CAST({c} AS DATE)"
    elif kind == STRING:
        expr = _parse_dates(trial, role, column)
    else:
        raise InvalidInput(f"roles.{role}: column {column!r} is {kind}, not a date")
    trial.select[alias] = expr
    trial.labels[alias] = f"{'event' if role == 'events' else role.replace('_', ' ')} ({column})"


def _parse_dates(trial: Trial, role: str, column: str) -> str:
    """The SQL reading a string column as dates, in the one format all its values follow.

    Formats are tried on the distinct values only: a trial has far fewer
    distinct dates than participants, and trying ten formats on every row costs.
    """
    text = f"nullif(trim(CAST({quote(column)} AS VARCHAR)), '')"
    parsers = {"ISO": "CAST(try_cast({s} AS TIMESTAMP) AS DATE)"}
    parsers |= {fmt: f"CAST(try_strptime({{s}}, '{fmt}') AS DATE)" for fmt in DATE_FORMATS}
    counts = ", ".join(f"count(*) FILTER (WHERE {p.format(s='s')} IS NULL)" for p in parsers.values())
    distinct = f"(SELECT DISTINCT {text} AS s FROM {trial.relation} WHERE {text} IS NOT NULL)"
    failures = dict(zip(parsers, trial.con.sql(f"SELECT count(*), {counts} FROM {distinct}").fetchall()[0][1:]))
    best = min(parsers, key=lambda f: failures[f])  # the first of the fewest failures
    parse = parsers[best].format(s=text)
    if failures[best]:
        key, value = trial.con.sql(f"SELECT {quote(trial.key)}, {text} FROM {trial.relation} "
                                   f"WHERE {text} IS NOT NULL AND {parse} IS NULL ORDER BY 1 LIMIT 1").fetchall()[0]
        raise InvalidInput(f"roles.{role}: column {column!r} has values that are not dates, "
                           f"first at key {key!r}: {value!r}")
    if best in AMBIGUOUS and failures[AMBIGUOUS[best]] == 0:
        sample = trial.con.sql(f"SELECT {text} FROM {trial.relation} WHERE {text} IS NOT NULL LIMIT 1").fetchall()
        raise InvalidInput(f"roles.{role}: column {column!r} has dates like {sample[0][0]!r} that read as "
                           "day/month and as month/day; store them as YYYY-MM-DD")
    return parse


def _add_indicators(trial: Trial) -> None:
    """Death flag and event status as booleans; time as a number; ``dead`` from whatever says so."""
    if trial.roles.get("death_flag"):
        trial.select["flag"] = _indicator(trial, "death_flag", trial.roles["death_flag"])
    if trial.roles.get("status"):
        trial.select["status"] = _indicator(trial, "status", trial.roles["status"])
    if trial.roles.get("time"):
        column = trial.roles["time"]
        kind = type_class(trial.schema.field(column).type)
        if kind not in NUMERIC:
            raise InvalidInput(f"roles.time: column {column!r} is {kind}, not a number of days")
        trial.select["time"] = f"CAST({quote(column)} AS DOUBLE)"
    said = [f"{trial.select['death']} IS NOT NULL"] if trial.has("death") else []
    said += [f"coalesce({trial.select['flag']}, false)"] if trial.has("flag") else []
    trial.select["dead"] = " OR ".join(f"({s})" for s in said) if said else "false"


def _indicator(trial: Trial, role: str, column: str) -> str:
    """A 0/1, boolean or yes/no column as SQL booleans (blank is missing); any other value is refused."""
    c = quote(column)
    kind = type_class(trial.schema.field(column).type)
    if kind == BOOLEAN:
        return c
    if kind in NUMERIC:
        value, valid, expr = c, f"{c} IN (0, 1)", f"CAST({c} AS DOUBLE) = 1"
    elif kind == STRING:
        value = f"nullif(lower(trim({c})), '')"
        valid = f"{value} IN {TRUE_WORDS + FALSE_WORDS}"
        expr = f"CASE WHEN {value} IN {TRUE_WORDS} THEN true WHEN {value} IN {FALSE_WORDS} THEN false END"
    else:
        raise InvalidInput(f"roles.{role}: column {column!r} is {kind}, not a 0/1 or boolean indicator")
    bad = trial.con.sql(f"SELECT {quote(trial.key)}, {c} FROM {trial.relation} "
                        f"WHERE {value} IS NOT NULL AND NOT ({valid}) ORDER BY 1 LIMIT 1").fetchall()
    if bad:
        raise InvalidInput(f"roles.{role}: column {column!r} must be 0/1 or boolean, "
                           f"first other value at key {bad[0][0]!r}: {bad[0][1]!r}")
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE {expr} END"


# --- randomisation ----------------------------------------------------------------------------

def allocation(trial: Trial) -> CheckResult:
    """Observed allocation vs the planned ratio: a chi-square goodness-of-fit test."""
    planned = {str(a): float(r) for a, r in trial.design["planned_ratio"].items()}
    counts = {str(a): n for a, n in trial.sql("SELECT arm, count(*) FROM t WHERE arm IS NOT NULL GROUP BY arm")}
    unplanned = sorted(set(counts) - set(planned))
    names = list(planned) + unplanned
    observed = np.array([counts.get(a, 0) for a in names], dtype=float)
    total, ratio_sum = observed.sum(), sum(planned.values())
    expected = np.array([total * planned.get(a, 0.0) / ratio_sum for a in names])
    fit = ~np.isin(names, unplanned)
    statistic = float((((observed - expected)[fit]) ** 2 / expected[fit]).sum()) if total else 0.0
    p = chi2_sf(statistic, int(fit.sum() - 1)) if total and fit.sum() > 1 else None
    threshold = trial.thresholds["allocation_p"]
    shown = {str(a): a for a in trial.arms()}  # arms as the data spell them
    rows = [[shown.get(a, a), planned.get(a), int(o), _share(o, total), round(float(e), 2), _share(e, total)]
            for a, o, e in zip(names, observed, expected)]
    missing_arm = trial.sql("SELECT count(*) FROM t WHERE arm IS NULL")[0][0]
    return CheckResult(
        name="randomisation: allocation ratio", kind="integrity",
        success=not unplanned and (p is None or p >= threshold),
        details={"test": "chi-square goodness of fit", "statistic": statistic, "df": int(fit.sum() - 1),
                 "p_value": p, "threshold": threshold, "unplanned_arms": unplanned, "arm_missing": missing_arm},
        figures=[Figure("Allocation by arm", ["arm", "planned ratio", "observed", "observed share",
                                              "expected", "expected share"], rows)])


def balance(trial: Trial) -> CheckResult:
    """Baseline balance as standardised differences of each arm against the first.

    Not p-values: after randomisation every difference is due to chance, and a
    p-value measures the trial's size as much as the imbalance.
    """
    arms = trial.arms()
    threshold = trial.thresholds["standardised_difference"]
    rows, offenders = [], []
    for column in trial.roles["baseline"]:
        summaries = _covariate_summaries(trial, column)
        method = "categorical" if summaries and summaries[0]["levels"] is not None else "numeric"
        reference = next((s for s in summaries if s["arm"] == arms[0]), None) if arms else None
        for summary in summaries:
            if reference is None or summary["arm"] == reference["arm"]:
                continue
            d = _standardised_difference(summary, reference)
            rows.append([column, method, summary["arm"], reference["arm"], summary["n"], _describe(summary),
                         reference["n"], _describe(reference), None if d is None else round(d, 4)])
            if d is None or abs(d) > threshold:
                offenders.append({"covariate": column, "arm": summary["arm"], "d": d})
    return CheckResult(
        name="randomisation: baseline balance", kind="integrity", success=not offenders,
        details={"threshold": threshold, "reference_arm": arms[0] if arms else None, "offenders": offenders,
                 "method": {"numeric": "mean difference / pooled SD, pooled SD = sqrt((s1² + s0²) / 2)",
                            "categorical": "Yang–Dalton: sqrt((p1 − p0)ᵀ S⁻¹ (p1 − p0)) over all levels but "
                                           "the first, S = (S1 + S0) / 2; for two levels "
                                           "|p1 − p0| / sqrt((p1(1 − p1) + p0(1 − p0)) / 2)",
                            "no variation": "d is None when the arms differ but neither varies"}},
        figures=[Figure("Standardised differences at baseline",
                        ["covariate", "method", "arm", "reference arm", "n", "summary",
                         "reference n", "reference summary", "standardised difference"], rows)])


def _covariate_summaries(trial: Trial, column: str) -> list[dict[str, Any]]:
    """Per arm: n, mean and variance of a numeric covariate, or level counts of a categorical one."""
    kind = type_class(trial.schema.field(column).type)
    c, arm = quote(column), trial.select["arm"]
    present = f"{c} IS NOT NULL" + (f" AND NOT isnan({c})" if kind == NUMBER else "")
    where = f"WHERE {arm} IS NOT NULL AND {present}"
    levels_sql = f"SELECT {arm}, {c}, count(*) FROM {trial.relation} {where} GROUP BY ALL ORDER BY 1, 2"
    if kind in (DATE, DATETIME):  # compared as days, like any other measurement
        c, kind = f"date_diff('day', DATE '1970-01-01', CAST({c} AS DATE))", NUMBER
    if kind in NUMERIC:
        distinct = trial.con.sql(f"SELECT count(DISTINCT {c}) FROM {trial.relation} {where}").fetchall()[0][0]
        if distinct > 2:
            rows = trial.con.sql(f"SELECT {arm}, count(*), avg(CAST({c} AS DOUBLE)), var_samp(CAST({c} AS DOUBLE)) "
                                 f"FROM {trial.relation} {where} GROUP BY 1").fetchall()
            found = {a: {"arm": a, "n": n, "mean": m, "var": v or 0.0, "levels": None} for a, n, m, v in rows}
            return [found[a] for a in trial.arms() if a in found]
    found: dict[Any, dict[str, Any]] = {}
    for a, level, n in trial.con.sql(levels_sql).fetchall():
        entry = found.setdefault(a, {"arm": a, "n": 0, "levels": {}})
        entry["levels"][level], entry["n"] = n, entry["n"] + n
    return [found[a] for a in trial.arms() if a in found]


def _standardised_difference(arm: dict, reference: dict) -> float | None:
    if arm["levels"] is None:
        return _numeric_difference(arm["mean"], arm["var"], reference["mean"], reference["var"])
    levels = sorted(set(arm["levels"]) | set(reference["levels"]), key=str)
    p1 = np.array([arm["levels"].get(v, 0) / arm["n"] for v in levels])
    p0 = np.array([reference["levels"].get(v, 0) / reference["n"] for v in levels])
    return yang_dalton(p1, p0)


def _numeric_difference(m1: float, v1: float, m0: float, v0: float) -> float | None:
    sd = math.sqrt((v1 + v0) / 2)
    if sd == 0:
        return 0.0 if m1 == m0 else None
    return (m1 - m0) / sd


def yang_dalton(p1: np.ndarray, p0: np.ndarray) -> float | None:
    """Standardised difference of two vectors of level proportions (Yang & Dalton 2012).

    The first level is dropped (the proportions sum to one); ``None`` when the
    arms differ in a direction in which neither varies (d would be infinite).
    """
    diff, q1, q0 = (p1 - p0)[1:], p1[1:], p0[1:]
    pooled = (np.diag(q1) - np.outer(q1, q1) + np.diag(q0) - np.outer(q0, q0)) / 2
    inverse = np.linalg.pinv(pooled)
    if np.abs(diff - pooled @ inverse @ diff).max(initial=0.0) > 1e-9:
        return None
    return float(math.sqrt(max(float(diff @ inverse @ diff), 0.0)))


def _describe(summary: dict) -> str:
    if summary["levels"] is None:
        return f"mean {summary['mean']:.4g}, SD {math.sqrt(summary['var']):.4g}"
    return ", ".join(f"{v}: {100 * n / summary['n']:.1f}%" for v, n in summary["levels"].items())


def weekday(trial: Trial) -> CheckResult:
    """Randomisation by weekday and arm: allocation should not depend on the day; weekends are unusual."""
    arms = trial.arms()
    counts = trial.sql("SELECT isodow(randomised), arm, count(*) FROM t "
                       "WHERE randomised IS NOT NULL AND arm IS NOT NULL GROUP BY ALL")
    table = _pivot(counts, list(range(1, 8)), arms)
    p, threshold = _independence_p(table), trial.thresholds["weekday_p"]
    weekend, keys = trial.keys("isodow(randomised) >= 6")
    rows = [[WEEKDAYS[i], *map(int, table[i]), int(table[i].sum())] for i in range(7)]
    return CheckResult(
        name="randomisation: weekday by arm", kind="integrity", success=p is None or p >= threshold,
        unexpected_count=weekend, unexpected_keys=keys,
        details={"test": "chi-square test of independence (no continuity correction), weekdays without "
                         "randomisations left out", "p_value": p, "threshold": threshold,
                 "weekend_randomisations": weekend,
                 "note": "weekend randomisations are listed for query; they do not fail the check"},
        figures=[Figure("Randomisations by weekday and arm", ["weekday", *map(str, arms), "total"], rows)])


def accrual(trial: Trial) -> CheckResult:
    """Accrual by calendar period and arm: allocation should not drift over time."""
    period = trial.thresholds["accrual_period"]
    label = {"month": "strftime(randomised, '%Y-%m')",
             "quarter": "CAST(year(randomised) AS VARCHAR) || '-Q' || CAST(quarter(randomised) AS VARCHAR)",
             "year": "CAST(year(randomised) AS VARCHAR)"}[period]
    arms = trial.arms()
    counts = trial.sql(f"SELECT {label}, arm, count(*) FROM t "
                       "WHERE randomised IS NOT NULL AND arm IS NOT NULL GROUP BY ALL")
    periods = sorted({r[0] for r in counts})
    table = _pivot(counts, periods, arms)
    p, threshold = _independence_p(table), trial.thresholds["accrual_p"]
    rows = [[pd, *map(int, table[i]), int(table[i].sum())] for i, pd in enumerate(periods)]
    return CheckResult(
        name="randomisation: accrual by arm", kind="integrity", success=p is None or p >= threshold,
        details={"test": "chi-square test of independence (no continuity correction)", "period": period,
                 "p_value": p, "threshold": threshold},
        figures=[Figure(f"Randomisations by {period} and arm", [period, *map(str, arms), "total"], rows)])


def _pivot(counts: list[tuple], rows: list[Any], columns: list[Any]) -> np.ndarray:
    table = np.zeros((len(rows), len(columns)), dtype=np.int64)
    at_row, at_column = {r: i for i, r in enumerate(rows)}, {c: j for j, c in enumerate(columns)}
    for r, c, n in counts:
        table[at_row[r], at_column[c]] = n
    return table


def _independence_p(table: np.ndarray) -> float | None:
    """Pearson chi-square p over the non-empty rows and columns; None when fewer than two of either."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0].astype(float)
    if min(table.shape) < 2:
        return None
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return chi2_sf(statistic, (table.shape[0] - 1) * (table.shape[1] - 1))


def chi2_sf(x: float, df: int) -> float:
    """Upper tail of the chi-square distribution for a whole number of degrees of freedom.

    The closed forms of the regularised upper incomplete gamma function, summed
    in log space so that large tables neither overflow nor underflow; written out
    because importing scipy.stats costs about a second on every ``ipd check``.
    """
    if x <= 0:
        return 1.0
    h = x / 2
    if df % 2 == 0:  # Q(k, h) = e^-h Σ_{i<k} h^i / i!
        logs = [i * math.log(h) - math.lgamma(i + 1) - h for i in range(df // 2)]
        head = 0.0
    else:  # Q(k + 1/2, h) = erfc(√h) + e^-h Σ_{1≤j≤k} h^(j−1/2) / Γ(j + 1/2)
        logs = [(j - 0.5) * math.log(h) - math.lgamma(j + 0.5) - h for j in range(1, (df - 1) // 2 + 1)]
        head = math.erfc(math.sqrt(h))
    return min(1.0, head + sum(math.exp(v) for v in logs))


def sequence(trial: Trial) -> CheckResult:
    """Arms in ID order: a predictable sequence (alternation, long runs) suggests allocation was not concealed."""
    name = "randomisation: sequence of arms by ID"
    kind = type_class(trial.schema.field(trial.key).type)
    n, low, high = trial.sql("SELECT count(*), min(k), max(k) FROM t WHERE arm IS NOT NULL")[0]
    if kind != INTEGER or n < 2 or n / (high - low + 1) < NEAR_SEQUENTIAL:
        reason = "key is not an integer" if kind != INTEGER else \
            f"IDs fill less than {NEAR_SEQUENTIAL:.0%} of their range, so their order says little"
        return CheckResult(name=name, kind="integrity", success=True, details={"skipped": reason})
    runs = trial.sql("""
        WITH s AS (SELECT k, arm, CASE WHEN arm = lag(arm) OVER (ORDER BY k) THEN 0 ELSE 1 END AS new
                   FROM t WHERE arm IS NOT NULL),
             r AS (SELECT arm, sum(new) OVER (ORDER BY k) AS run FROM s),
             l AS (SELECT arm, run, count(*) AS length FROM r GROUP BY ALL)
        SELECT arm, length, count(*) FROM l GROUP BY ALL ORDER BY 1, 2""")
    sizes = {a: 0 for a in trial.arms()}
    for a, length, count in runs:
        sizes[a] += length * count
    observed = sum(count for _, _, count in runs)
    mean, variance = runs_moments(np.array(list(sizes.values()), dtype=float))
    z = (observed - mean) / math.sqrt(variance) if variance > 0 else 0.0
    p = math.erfc(abs(z) / math.sqrt(2)) if variance > 0 else None  # two-sided normal
    threshold = trial.thresholds["sequence_p"]
    alternation = observed == n and n >= MIN_ALTERNATION and len(sizes) > 1
    pattern = "strict alternation" if alternation else "as expected" if p is None or p >= threshold else \
        "more runs than expected (alternation or small blocks)" if z > 0 else "fewer runs than expected (long runs)"
    same_observed, same_expected = (n - observed) / (n - 1), (n - mean) / (n - 1)
    return CheckResult(
        name=name, kind="integrity", success=pattern == "as expected",
        details={"test": "Wald–Wolfowitz runs test (k arms), two-sided normal approximation", "participants": n,
                 "runs": observed, "expected_runs": mean, "z": z, "p_value": p, "threshold": threshold,
                 "pattern": pattern, "same_arm_as_previous": same_observed,
                 "same_arm_as_previous_expected": same_expected,
                 "longest_run": {str(a): max((ln for b, ln, _ in runs if b == a), default=0) for a in sizes}},
        figures=[Figure("Runs of one arm in ID order", ["arm", "run length", "runs"], [list(r) for r in runs])])


def runs_moments(sizes: np.ndarray) -> tuple[float, float]:
    """Mean and variance of the number of runs in a random order of arms of these sizes (Barton & David 1957)."""
    n, s2, s3 = sizes.sum(), (sizes ** 2).sum(), (sizes ** 3).sum()
    mean = (n * (n + 1) - s2) / n
    variance = (s2 * (s2 + n * (n + 1)) - 2 * n * s3 - n ** 3) / (n ** 2 * (n - 1))
    return float(mean), float(variance)


# --- dates ------------------------------------------------------------------------------------

def dates(trial: Trial) -> list[CheckResult]:
    """Row-level order of dates, and death flag vs death date: every participant at fault is named."""
    checks = _date_pairs(trial)
    if trial.has("death", "flag"):
        checks.append(("dates: death flag agrees with death date",
                       "(flag AND death IS NULL) OR (NOT coalesce(flag, false) AND death IS NOT NULL)",
                       {"flag_without_date": "flag AND death IS NULL",
                        "date_without_flag": "NOT coalesce(flag, false) AND death IS NOT NULL"}))
    if not checks:
        return []
    conditions = [c for _, condition, details in checks for c in (condition, *details.values())]
    counts = iter(trial.sql("SELECT " + ", ".join(f"count(*) FILTER (WHERE {c})" for c in conditions) + " FROM t")[0])
    results = []
    for name, condition, details in checks:
        count = next(counts)
        figures = {label: next(counts) for label in details}
        keys = trial.keys(condition)[1] if count else []
        results.append(CheckResult(name=name, kind="integrity", success=count == 0, unexpected_count=count,
                                   unexpected_keys=keys, details=figures))
    return results


def _date_pairs(trial: Trial) -> list[tuple[str, str, dict]]:
    """(name, condition for a participant at fault, {detail: condition}) per pair of dates that must be in order."""
    cutoff = trial.design.get("cutoff")
    pairs = [("randomised", later) for later in [*trial.events, "death", "last_contact"]]
    pairs += [(event, "last_contact") for event in trial.events]
    pairs += [(earlier, "death") for earlier in [*trial.events, "last_contact"]]
    pairs += [(earlier, "cutoff") for earlier in ["randomised", *trial.events, "death", "last_contact"]]
    checks = []
    for earlier, later in pairs:
        declared = cutoff is not None if later == "cutoff" else trial.has(later)
        if not trial.has(earlier) or not declared:
            continue
        bound = f"DATE '{cutoff.isoformat()}'" if later == "cutoff" else later
        label = f"cut-off ({cutoff.isoformat()})" if later == "cutoff" else trial.labels[later]
        checks.append((f"dates: {trial.labels[earlier]} on or before {label}", f"{earlier} > {bound}",
                       {"compared": f"{earlier} IS NOT NULL AND {bound} IS NOT NULL"}))
    return checks


# --- missing data and publication -------------------------------------------------------------

def missing(trial: Trial) -> CheckResult:
    """Missing values per variable by arm: missingness that depends on the arm can bias the comparison."""
    arms = trial.arms()
    # DuckDB cannot name a column whose name is empty, so such a column cannot be counted.
    variables = [f for f in trial.schema if f.name and f.name not in (trial.key, trial.roles["arm"])]
    counts = [f"count(*) - count({_present(f)})" for f in variables]
    arm = trial.select["arm"]
    found = {r[0]: r[1:] for r in trial.con.sql(
        f"SELECT {arm}, count(*), {', '.join(counts) or '0'} FROM {trial.relation} "
        f"WHERE {arm} IS NOT NULL GROUP BY 1").fetchall()}
    difference, least = trial.thresholds["missing_difference"], trial.thresholds["missing_min_count"]
    rows, offenders = [], []
    for i, f in enumerate(variables):
        shares = {a: found[a][i + 1] / found[a][0] for a in arms}
        total = sum(found[a][i + 1] for a in arms)
        if total:  # complete variables are counted in the details, not listed
            rows.append([f.name, *(f"{found[a][i + 1]} ({100 * shares[a]:.1f}%)" for a in arms)])
        spread = max(shares.values()) - min(shares.values()) if shares else 0.0
        if total >= least and spread > difference:
            offenders.append({"variable": f.name, "missing": total,
                              "share_by_arm": {str(a): round(s, 4) for a, s in shares.items()}})
    return CheckResult(
        name="missing data: by arm", kind="integrity", success=not offenders,
        details={"missing_difference": difference, "missing_min_count": least, "offenders": offenders,
                 "complete_variables": len(variables) - len(rows),
                 "participants_by_arm": {str(a): found[a][0] for a in arms},
                 "missing_means": "null, NaN, or an empty string"},
        figures=[Figure("Missing values (n, % of arm) by variable and arm; complete variables not listed",
                        ["variable", *(f"arm {a} (n={found[a][0]})" for a in arms)], rows)])


def _present(f: pa.Field) -> str:
    """SQL for the value when present, NULL when missing (NaN and blank strings count as missing)."""
    c, kind = quote(f.name), type_class(f.type)
    if kind == NUMBER:
        return f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END"
    if kind == STRING:
        return f"nullif(trim({c}), '')"
    return c


def publication(trial: Trial) -> list[CheckResult]:
    """The data should reproduce the randomised and event counts the trial published."""
    published = trial.design.get("publication") or {}
    results = []
    if published.get("randomised") is not None:
        results.append(_agreement(trial, "randomised", published["randomised"], "true"))
    event = next((e for e in ("flag", "status") if trial.has(e)), "death IS NOT NULL" if trial.has("death") else None)
    if published.get("events") is not None and event:
        results.append(_agreement(trial, "events", published["events"], f"coalesce({event}, false)"))
    return results


def _agreement(trial: Trial, what: str, published: Any, counted: str) -> CheckResult:
    name = f"publication: {what}" + (" by arm" if isinstance(published, dict) else "")
    if not isinstance(published, dict):  # a total for the whole trial
        observed = trial.sql(f"SELECT count(*) FILTER (WHERE {counted}) FROM t")[0][0]
        rows = [["all", published, observed, observed - published]]
        return CheckResult(name=name, kind="integrity", success=observed == published,
                           details={"published": published, "observed": observed},
                           figures=[Figure(f"{what.capitalize()}: published and observed",
                                           ["arm", "published", "observed", "difference"], rows)])
    if not trial.has("arm"):
        raise InvalidInput(f"design.publication.{what}: figures by arm need roles.arm")
    observed = {str(a): n for a, n in trial.sql(
        f"SELECT arm, count(*) FILTER (WHERE {counted}) FROM t WHERE arm IS NOT NULL GROUP BY arm")}
    wanted = {str(a): n for a, n in published.items()}
    names = list(wanted) + sorted(set(observed) - set(wanted))
    shown = {str(a): a for a in trial.arms()}  # arms as the data spell them
    rows = [[shown.get(a, a), wanted.get(a), observed.get(a, 0),
             None if a not in wanted else observed.get(a, 0) - wanted[a]] for a in names]
    return CheckResult(
        name=name, kind="integrity", success=all(r[1] == r[2] for r in rows),
        details={"published": wanted, "observed": {a: observed.get(a, 0) for a in names}},
        figures=[Figure(f"{what.capitalize()}: published and observed", ["arm", "published", "observed",
                                                                           "difference"], rows)])


def _share(part: float, total: float) -> float | None:
    return round(float(part) / float(total), 4) if total else None
