"""Meta-analysis of a topic's pooled rows: one estimate per trial, then pooled (two-stage), or one
Cox model stratified by trial over every row (one-stage).

The caller (``ipd analyse``) hands over the pooled table of a pinned topic version, one row a
participant and a column naming the trial. ``rows[treatment] == active`` is the active arm and every
other value the control; the status is 1 for an event and 0 for censored or no event, as the topic's
dictionary harmonises it. Rows without a treatment or an outcome are left out and counted per trial.
A trial whose effect cannot be estimated (no events, one arm only) is listed with the reason and
left out of the pooling; only when no trial is left is that an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidInput
from .effects import (
    Effect,
    NotEstimable,
    cox_log_hr,
    stratified_cox_log_hr,
    woolf_log_or,
)
from .pooling import Pooled, RandomEffects, pool

if TYPE_CHECKING:
    import pandas as pd

COX, LOGISTIC = "cox", "logistic"
MEASURES = {COX: "HR", LOGISTIC: "OR"}


@dataclass(frozen=True)
class Arm:
    n: int
    events: int

    def to_json(self) -> dict:
        return {"n": self.n, "events": self.events}


@dataclass(frozen=True)
class TrialResult:
    """One trial's arms and effect; ``reason`` says why it is not pooled (then ``effect`` is None)."""

    trial: str
    version: str | None
    active: Arm
    control: Arm
    left_out: int  # rows without a treatment or an outcome
    effect: Effect | None
    reason: str | None = None

    @property
    def n(self) -> int:
        return self.active.n + self.control.n

    @property
    def events(self) -> int:
        return self.active.events + self.control.events

    def to_json(self) -> dict:
        effect = self.effect
        return {"trial": self.trial, "version": self.version, "n": self.n, "events": self.events,
                "estimate": effect.estimate if effect else None, "se": effect.se if effect else None,
                "arms": {"active": self.active.to_json(), "control": self.control.to_json()},
                "left_out": self.left_out, "pooled": effect is not None, "reason": self.reason,
                "continuity_correction": bool(effect and effect.corrected)}


@dataclass(frozen=True)
class OneStage(Pooled):
    """The log hazard ratio of one Cox model over every trial's rows, a baseline hazard per trial."""

    n: int
    events: int
    trials: int

    def to_json(self) -> dict:
        return {**super().to_json(), "n": self.n, "events": self.events, "trials": self.trials,
                "method": "Cox stratified by trial"}


@dataclass(frozen=True)
class Analysis:
    method: str  # COX or LOGISTIC
    treatment: str
    active: str
    control: tuple[str, ...]  # the other values of the treatment column
    trials: tuple[TrialResult, ...]
    fixed: Pooled
    random: RandomEffects  # DerSimonian-Laird
    reml: RandomEffects
    one_stage: OneStage | None = None

    @property
    def measure(self) -> str:
        """"HR" or "OR": what the log-scale estimates are logarithms of."""
        return MEASURES[self.method]

    @property
    def pooled_trials(self) -> tuple[TrialResult, ...]:
        return tuple(t for t in self.trials if t.effect is not None)

    def to_json(self) -> dict:
        """The ``--json`` contract's keys (estimates on the log scale), and more; the caller adds
        "topic" and "version"."""
        made = {"method": self.method, "measure": self.measure, "treatment": self.treatment,
                "active": self.active, "control": list(self.control),
                "trials": [t.to_json() for t in self.trials], "fixed": self.fixed.to_json(),
                "random": self.random.to_json(), "reml": self.reml.to_json()}
        if self.one_stage is not None:
            made["one_stage"] = self.one_stage.to_json()
        return made


def analyse(rows: pd.DataFrame, treatment: str, active, outcome_time: str | None, outcome_status: str,
            trial: str = "trial", versions: dict[str, str] | None = None, one_stage: bool = False) -> Analysis:
    """Per trial a Cox log hazard ratio (with ``outcome_time``) or a log odds ratio (without), pooled by
    inverse variance; with ``one_stage`` also a Cox model stratified by trial."""
    method = COX if outcome_time is not None else LOGISTIC
    for column in (trial, treatment, outcome_time, outcome_status):
        if column is not None and column not in rows.columns:
            raise InvalidInput(f"no column {column!r} in the pooled rows")
    if one_stage and method != COX:
        raise InvalidInput("the one-stage model is a Cox model stratified by trial: give a time with the status")
    is_active = _is_active(rows[treatment], active, treatment)
    frame, left_out = _usable(rows, trial, treatment, is_active, outcome_time, outcome_status)
    versions = versions or {}
    results = tuple(_trial(name, frame[frame["trial"] == name], method, versions.get(name), left_out[name])
                    for name in left_out)
    pooled = [t for t in results if t.effect is not None]
    if not pooled:
        reasons = "; ".join(f"{t.trial}: {t.reason}" for t in results)
        raise InvalidInput(f"no trial's effect can be estimated ({reasons})")
    pooling = pool([t.effect.estimate for t in pooled], [t.effect.se for t in pooled])
    control = rows.loc[rows[treatment].notna() & ~is_active, treatment]
    return Analysis(method, treatment, str(active), tuple(sorted({str(v) for v in control})), results,
                    pooling.fixed, pooling.random, pooling.reml, _one_stage(frame) if one_stage else None)


def _usable(rows: pd.DataFrame, trial: str, treatment: str, is_active: pd.Series, time: str | None,
            status: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The rows with a treatment and an outcome as (trial, active, time, status), checked; and per trial
    (in the order the trials first appear) how many rows were left out."""
    import pandas as pd

    if rows[trial].isna().any():
        raise InvalidInput(f"{int(rows[trial].isna().sum())} row(s) have no trial in column {trial!r}")
    names = rows[trial].astype(str)
    usable = rows[treatment].notna() & rows[status].notna()
    if time is not None:
        usable &= rows[time].notna()
    left_out = {name: int(count) for name, count in (~usable).groupby(names, sort=False).sum().items()}
    frame = pd.DataFrame({"trial": names[usable],
                          "active": is_active[usable],
                          "status": _status(rows.loc[usable, status], names[usable], status)})
    if time is not None:
        frame["time"] = _time(rows.loc[usable, time], names[usable], time)
    return frame, left_out


def _is_active(column: pd.Series, active, name: str) -> pd.Series:
    """``column == active``; a value given as text ("1") also matches the number it reads as, since
    the command line gives every value as text."""
    import pandas as pd

    mask = column == active
    if not mask.any() and isinstance(active, str):
        try:
            mask = pd.to_numeric(column, errors="coerce") == float(active)
        except ValueError:
            pass
    if not mask.any():
        values = ", ".join(sorted({str(v) for v in column.dropna()})[:10])
        raise InvalidInput(f"no row has {name} = {active!r} (its values: {values}): name the active arm's value")
    return mask.fillna(False).astype(bool)


def _status(values: pd.Series, trials: pd.Series, column: str) -> pd.Series:
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")  # True and False are 1 and 0 too
    bad = ~numbers.isin([0, 1])
    if bad.any():
        where = bad.idxmax()
        raise InvalidInput(f"trial {trials[where]}: {column} is {_shown(values[where])}; "
                           "a status is 1 (event) or 0 (censored / no event)")
    return numbers.astype(int)


def _time(values: pd.Series, trials: pd.Series, column: str) -> pd.Series:
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers < 0) | (numbers == float("inf"))
    if bad.any():
        where = bad.idxmax()
        raise InvalidInput(f"trial {trials[where]}: {column} is {_shown(values[where])}; "
                           "a time to event is a number, 0 or more")
    return numbers.astype(float)


def _shown(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _trial(name: str, rows: pd.DataFrame, method: str, version: str | None, left_out: int) -> TrialResult:
    arms = {side: Arm(int(len(part)), int(part["status"].sum()))
            for side, part in (("active", rows[rows["active"]]), ("control", rows[~rows["active"]]))}
    reason = _not_estimable(method, arms["active"], arms["control"])
    effect = None
    if reason is None:
        try:
            effect = _effect(method, rows, arms["active"], arms["control"])
        except NotEstimable as exc:
            reason = str(exc)
    return TrialResult(name, version, arms["active"], arms["control"], left_out, effect, reason)


def _not_estimable(method: str, active: Arm, control: Arm) -> str | None:
    """Why this trial has no effect to pool, or None. A Cox model with events in one arm only has no
    finite estimate; a 2x2 table with a zero cell still has one, after the continuity correction."""
    if active.n + control.n == 0:
        return "no rows with a treatment and an outcome"
    for side, arm in (("active", active), ("control", control)):
        if arm.n == 0:
            return f"one arm only: no participant in the {side} arm"
    if active.events + control.events == 0:
        return "no events"
    if method == COX:
        for side, arm in (("active", active), ("control", control)):
            if arm.events == 0:
                return f"no events in the {side} arm: the hazard ratio is not estimable"
    elif active.events == active.n and control.events == control.n:
        return "every participant had the event: the odds ratio is not estimable"
    return None


def _effect(method: str, rows: pd.DataFrame, active: Arm, control: Arm) -> Effect:
    if method == COX:
        return cox_log_hr(rows["time"], rows["status"], rows["active"])
    return woolf_log_or(active.events, active.n, control.events, control.n)


def _one_stage(frame: pd.DataFrame) -> OneStage:
    try:
        effect = stratified_cox_log_hr(frame["time"], frame["status"], frame["active"], frame["trial"])
    except NotEstimable as exc:
        raise InvalidInput(f"the one-stage model cannot be fitted: {exc}") from exc
    return OneStage(effect.estimate, effect.se, int(len(frame)), int(frame["status"].sum()),
                    int(frame["trial"].nunique()))
