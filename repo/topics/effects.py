"""One trial's treatment effect on the log scale, with its standard error.

With a time to event, the log hazard ratio of a Cox model (lifelines) on the treatment indicator
alone; with a binary outcome, Woolf's log odds ratio from the 2x2 table. The one-stage model, a Cox
model stratified by trial, fits every trial's rows at once. lifelines is imported inside the
functions that fit, so that ``ipd --help`` stays fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

CONTINUITY = 0.5  # added to every cell of a 2x2 table with a zero cell (Cochrane Handbook 10.4.4.2)


@dataclass(frozen=True)
class Effect:
    """A log-scale estimate and its standard error; ``corrected`` when 0.5 was added to each cell."""

    estimate: float
    se: float
    corrected: bool = False


class NotEstimable(Exception):
    """A model that cannot give a finite estimate for this trial; the message is the reason."""


def cox_log_hr(time: pd.Series, status: pd.Series, active: pd.Series) -> Effect:
    """Log hazard ratio of the active arm against control (Efron's ties, as lifelines fits them)."""
    import pandas as pd

    frame = pd.DataFrame({"time": time.to_numpy(float), "status": status.to_numpy(int),
                          "active": active.to_numpy(float)})
    fitter = _fit_cox(frame, strata=None)
    return _coefficient(fitter)


def stratified_cox_log_hr(time: pd.Series, status: pd.Series, active: pd.Series, stratum: pd.Series) -> Effect:
    """The one-stage model: one log hazard ratio with a baseline hazard of its own for each stratum (trial)."""
    import pandas as pd

    frame = pd.DataFrame({"time": time.to_numpy(float), "status": status.to_numpy(int),
                          "active": active.to_numpy(float), "stratum": stratum.astype(str).to_numpy()})
    fitter = _fit_cox(frame, strata=["stratum"])
    return _coefficient(fitter)


def woolf_log_or(events_active: int, n_active: int, events_control: int, n_control: int) -> Effect:
    """Log odds ratio and Woolf's standard error, sqrt(1/a + 1/b + 1/c + 1/d); a table with a zero cell
    gets 0.5 added to each of its four cells first, the usual correction (and only then)."""
    cells = [events_active, n_active - events_active, events_control, n_control - events_control]
    corrected = min(cells) == 0
    a, b, c, d = (cell + CONTINUITY if corrected else float(cell) for cell in cells)
    return Effect(math.log((a * d) / (b * c)), math.sqrt(1 / a + 1 / b + 1 / c + 1 / d), corrected)


def _fit_cox(frame: pd.DataFrame, strata: list[str] | None):
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    try:
        return CoxPHFitter().fit(frame, duration_col="time", event_col="status", strata=strata)
    except ConvergenceError as exc:
        raise NotEstimable(f"the Cox model did not converge ({_first_line(exc)})") from exc


def _coefficient(fitter) -> Effect:
    estimate, se = float(fitter.params_["active"]), float(fitter.standard_errors_["active"])
    if not (math.isfinite(estimate) and math.isfinite(se) and se > 0):
        raise NotEstimable("the Cox model gave no finite estimate")
    return Effect(estimate, se)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
