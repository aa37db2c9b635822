"""Randomisation: does the allocation look random?

The allocation ratio against the planned one, baseline balance as
standardised differences, allocation by weekday and over time, and the
sequence of arms in ID order (alternation or long runs suggest the next
allocation could be foreseen). Each is computed over ``integrity.Trial``'s role
view by DuckDB; the chi-square tail is written out here, because importing
scipy.stats costs about a second on every check.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ..backends.columns import (
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    NUMBER,
    quote,
    type_class,
)
from .results import CheckResult, Figure

if TYPE_CHECKING:
    from ..backends.sql import Relation
    from .trial import Trial

NUMERIC = (INTEGER, NUMBER, DECIMAL)
NEAR_SEQUENTIAL = 0.5  # IDs fill at least this share of their range: a sequence worth testing
MIN_ALTERNATION = 10  # strict alternation of fewer participants proves nothing
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def allocation(trial: Trial) -> CheckResult:
    """Observed allocation vs the planned ratio: a chi-square goodness-of-fit test."""
    planned = {str(a): float(r) for a, r in trial.design["planned_ratio"].items()}
    profile = trial.profile()
    counts = {str(a): figures[0] for a, figures in profile.items() if a is not None}
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
    missing_arm = profile[None][0] if None in profile else 0
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
    arms = {a: figures for a, figures in trial.profile().items() if a is not None}
    n = sum(figures[0] for figures in arms.values())
    low = min((f[1] for f in arms.values() if f[1] is not None), default=None)
    high = max((f[2] for f in arms.values() if f[2] is not None), default=None)
    if kind != INTEGER or n < 2 or low is None or n / (high - low + 1) < NEAR_SEQUENTIAL:
        reason = "key is not an integer" if kind != INTEGER else \
            f"IDs fill less than {NEAR_SEQUENTIAL:.0%} of their range, so their order says little"
        return CheckResult(name=name, kind="integrity", success=True, details={"skipped": reason})
    runs = _runs(trial, list(arms), low, high)
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


def _runs(trial: Trial, arms: list[Any], low: int, high: int) -> list[tuple[Any, int, int]]:
    """(arm, run length, runs of that length) in ID order, arms in DuckDB's order, lengths ascending.

    The IDs are integers that fill at least half their range, so each arm is
    placed at its ID's offset in an array of the range's size, which orders
    them without a sort (a windowed sort of ten million rows took seconds and
    most of a check's memory). Repeated IDs fall back to a stable sort; as in
    SQL, participants with the same ID then come in no particular order, and
    those without one come last.
    """
    dtype = np.uint8 if len(arms) < 255 else np.uint16 if len(arms) < 65535 else np.uint32
    empty = np.iinfo(dtype).max
    codes = (f"SELECT CAST(coalesce(k, {high + 1}) - {low} AS BIGINT) AS at, "
             f"CAST(list_position($arms, arm) - 1 AS {_UNSIGNED[dtype]}) AS code FROM t WHERE arm IS NOT NULL")
    slots, placed = np.full(high - low + 2, empty, dtype), 0
    for batch in _batches(trial.query(codes, {"arms": arms})):
        at = _values(batch.column(0), np.int64)
        slots[at] = _values(batch.column(1), dtype)
        placed += len(at)
    sequence = slots[slots != empty]
    if len(sequence) != placed:  # repeated IDs
        both = trial.query(codes, {"arms": arms}).fetchnumpy()
        sequence = both["code"][np.argsort(both["at"], kind="stable")]
    boundaries = np.concatenate(([0], np.flatnonzero(sequence[1:] != sequence[:-1]) + 1, [len(sequence)]))
    lengths = np.diff(boundaries)
    which = sequence[boundaries[:-1]].astype(np.int64)
    width = int(lengths.max(initial=0)) + 1
    counts = np.bincount(which * width + lengths, minlength=len(arms) * width).reshape(len(arms), width)
    return [(a, int(length), int(count)) for i, a in enumerate(arms)
            for length, count in enumerate(counts[i]) if count]


_UNSIGNED = {np.uint8: "UTINYINT", np.uint16: "USMALLINT", np.uint32: "UINTEGER"}


def _values(array: pa.Array, dtype: type) -> np.ndarray:
    """A column without nulls as numpy, without a copy (pyarrow's own to_numpy imports pandas: 0.3 s)."""
    if array.null_count:
        raise ValueError("unexpected missing values")  # the query above leaves none
    size = np.dtype(dtype).itemsize
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * size)


def _batches(relation: Relation):
    """The relation's rows as Arrow record batches, streamed (newer DuckDB calls the method to_arrow_reader)."""
    reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
    return reader(1 << 20)


def runs_moments(sizes: np.ndarray) -> tuple[float, float]:
    """Mean and variance of the number of runs in a random order of arms of these sizes (Barton & David 1957)."""
    n, s2, s3 = sizes.sum(), (sizes ** 2).sum(), (sizes ** 3).sum()
    mean = (n * (n + 1) - s2) / n
    variance = (s2 * (s2 + n * (n + 1)) - 2 * n * s3 - n ** 3) / (n ** 2 * (n - 1))
    return float(mean), float(variance)


def _share(part: float, total: float) -> float | None:
    return round(float(part) / float(total), 4) if total else None
