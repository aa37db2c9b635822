"""Follow-up: how long, and how completely, each arm was followed.

Median follow-up is estimated by the reverse Kaplan–Meier method (Schemper &
Smith 1996): being censored is the "event" and dying censors, so deaths do not
shorten the estimate as they do in a plain median of observation times. The
product-limit estimator is written here with numpy so that checking a trial
needs no survival library; the tests compare it with lifelines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .results import CheckResult, Figure

if TYPE_CHECKING:
    from .trial import Trial

TOLERANCE = 1e-10  # survival equal to a level up to rounding counts as reaching it


def plan(trial: Trial) -> list[tuple[list[str], Callable[[Trial], list[CheckResult]]]]:
    """The follow-up checks whose inputs are declared, each with the aliases of ``t`` it reads."""
    found = []
    arm = ["arm"] if trial.has("arm") else []
    source = _source(trial)
    if source:
        read = ["randomised", "last_contact", "dead"] if source[0] == "dates" else ["time", "status"]
        found.append(([*arm, *read], lambda t: [median_follow_up(t, *source)]))
    if trial.has("last_contact") and trial.design.get("cutoff"):
        found.append((["k", *arm, "last_contact", "dead"], lambda t: [loss_to_follow_up(t)]))
    return found


def kaplan_meier(times: np.ndarray, events: np.ndarray,
                 counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Product-limit estimate: the distinct times and the survival just after each.

    ``events`` is how many of the ``counts`` participants observed at each time
    had the event (0/1 when each row is one participant), so aggregated rows
    from DuckDB can be passed as they are.
    """
    times = np.asarray(times, dtype=float)
    events = np.asarray(events, dtype=float)
    counts = np.ones_like(times) if counts is None else np.asarray(counts, dtype=float)
    distinct, at = np.unique(times, return_inverse=True)
    died = np.bincount(at, weights=events, minlength=len(distinct))
    seen = np.bincount(at, weights=counts, minlength=len(distinct))
    at_risk = seen[::-1].cumsum()[::-1]
    return distinct, np.cumprod(1.0 - died / at_risk)


def survival_time(times: np.ndarray, survival: np.ndarray, level: float) -> float | None:
    """The first time survival falls to ``level`` or below (0.5: the median); None if it never does."""
    reached = np.nonzero(survival <= level + TOLERANCE)[0]
    return float(times[reached[0]]) if len(reached) else None


def _source(trial: Trial) -> tuple[str, str, str] | None:
    """Where follow-up comes from: days and the reverse-KM event (alive at the end of follow-up)."""
    if trial.has("randomised", "last_contact"):
        end = "coalesce(death, last_contact)" if trial.has("death") else "last_contact"
        return "dates", f"date_diff('day', randomised, CASE WHEN dead THEN {end} ELSE last_contact END)", "NOT dead"
    if trial.has("time", "status"):
        return "time and status", "time", "NOT status"
    return None


def median_follow_up(trial: Trial, source: str, time: str, followed: str) -> CheckResult:
    """Median follow-up per arm by reverse Kaplan–Meier; descriptive, so it does not fail."""
    arm = "arm" if trial.has("arm") else "NULL"
    rows = trial.sql(f"""
        WITH f AS (SELECT {arm} AS arm, {time} AS days, {followed} AS followed FROM t)
        SELECT arm, days, count(*) FILTER (WHERE followed), count(*) FROM f
        WHERE days >= 0 AND followed IS NOT NULL GROUP BY ALL ORDER BY days""")
    excluded = trial.sql(f"""
        WITH f AS (SELECT {arm} AS arm, {time} AS days, {followed} AS followed FROM t)
        SELECT count(*) FROM f WHERE days IS NULL OR days < 0 OR followed IS NULL""")[0][0]
    groups = trial.arms() if trial.has("arm") else [None]
    figure, medians = [], {}
    for group in groups:
        mine = np.array([r[1:] for r in rows if r[0] == group], dtype=float).reshape(-1, 3)
        times, survival = kaplan_meier(mine[:, 0], mine[:, 1], mine[:, 2])
        quartiles = [survival_time(times, survival, level) for level in (0.75, 0.5, 0.25)]
        label = "all" if group is None else group
        medians[str(label)] = quartiles[1]
        n, followed_n = int(mine[:, 2].sum()), int(mine[:, 1].sum())
        figure.append([label, n, n - followed_n, followed_n, quartiles[1], quartiles[0], quartiles[2]])
    return CheckResult(
        name="follow-up: median by reverse Kaplan–Meier", kind="integrity", success=True,
        details={"method": "reverse Kaplan–Meier: end of follow-up alive is the event, death censors",
                 "source": source, "median_days": medians, "excluded_missing_or_negative_time": excluded},
        figures=[Figure("Follow-up by arm (days, reverse Kaplan–Meier)",
                        ["arm", "participants", "died", "alive", "median", "25th percentile",
                         "75th percentile"], figure)])


def loss_to_follow_up(trial: Trial) -> CheckResult:
    """Alive participants last seen well before the cut-off: their follow-up should be updated."""
    window = trial.thresholds["loss_to_follow_up_days"]
    cutoff: dt.date = trial.design["cutoff"]
    since = cutoff - dt.timedelta(days=window)
    lost = f"NOT dead AND last_contact < DATE '{since.isoformat()}'"
    arm = "arm" if trial.has("arm") else "NULL"
    rows = trial.sql(f"""
        SELECT {arm}, count(*) FILTER (WHERE NOT dead), count(*) FILTER (WHERE {lost}),
               count(*) FILTER (WHERE NOT dead AND last_contact IS NULL)
        FROM t GROUP BY 1""")
    found = {r[0]: r[1:] for r in rows}
    groups = trial.arms() if trial.has("arm") else [None]
    figure = [_loss_row(g, *found.get(g, (0, 0, 0))) for g in groups]
    count, keys = trial.keys(lost)
    return CheckResult(
        name="follow-up: lost to follow-up", kind="integrity", success=count == 0,
        unexpected_count=count, unexpected_keys=keys,
        details={"cutoff": cutoff.isoformat(), "window_days": window, "last_contact_before": since.isoformat(),
                 "lost_by_arm": {str(r[0]): r[2] for r in figure},
                 "alive_without_last_contact": sum(r[2] for r in found.values()),
                 "death_known_from": [r for r in ("death", "death_flag") if trial.roles.get(r)] or
                 "nothing: every participant is taken to be alive"},
        figures=[Figure("Loss to follow-up by arm", ["arm", "alive", "lost to follow-up", "lost %"], figure)])


def _loss_row(group: Any, alive: int, lost: int, _no_contact: int) -> list[Any]:
    return ["all" if group is None else group, alive, lost, round(100 * lost / alive, 2) if alive else None]
