"""What corrections did to a trial's headline figures: the re-analysis summary.

Before analysing a corrected version, an IPD group sends the trialists the
figures an analysis rests on — participants per arm, events per arm, baseline
balance — as they were and as they are, so both sides agree on what changed.
Each version's figures are computed by DuckDB over its own rows through the
same role view the integrity checks use (so "event" and "balance" mean the
same thing in ``ipd check`` and here). A role declared in only one version's
``dataset.yaml`` is used for both when the column exists in both: roles are
what the curator knows about columns, and declaring one late should not make
the old figure unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends.values import to_json

if TYPE_CHECKING:
    from ..checks.trial import Trial
    from ..repository import Repository
    from ..repository.records import Version

BALANCE_MOVE = 0.005  # a standardised difference that changes by this much has moved
ALL = None  # the arm of a figure over all participants


@dataclass(frozen=True)
class Headline:
    figure: str  # "participants", "events: status (cens)", "balance: age (d against arm 0)"
    arm: Any  # as in the data; None for all participants
    old: Any  # None when the figure cannot be computed at that version
    new: Any
    moved: bool


@dataclass
class Summary:
    trial: str
    old: str
    new: str
    arms: list[Any]
    threshold: float
    figures: list[Headline] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def moved(self) -> list[Headline]:
        return [f for f in self.figures if f.moved]

    def to_json(self) -> dict[str, Any]:
        return {"trial": self.trial, "from": self.old, "to": self.new, "arms": [to_json(a) for a in self.arms],
                "balance_threshold": self.threshold, "balance_move": BALANCE_MOVE,
                "figures": [{"figure": f.figure, "arm": to_json(f.arm), "old": f.old, "new": f.new,
                             "moved": f.moved} for f in self.figures],
                "notes": self.notes}


def summary(repo: Repository, trial: str, a: str, b: str) -> Summary:
    from ..checks.integrity import merged_thresholds
    from ..checks.run import thresholds

    dataset = repo.dataset(trial)
    old, new = dataset.version(a), dataset.version(b)
    limits = merged_thresholds(thresholds(repo))
    metadata = {v.record.version: dataset.metadata(at=v.record.version) for v in (old, new)}
    roles = _completed(metadata[old.record.version], metadata[new.record.version], old, new)
    before = _figures(old, {**metadata[old.record.version], "roles": roles[0]}, limits)
    after = _figures(new, {**metadata[new.record.version], "roles": roles[1]}, limits)
    old_arms, new_arms = before.pop("arms"), after.pop("arms")
    arms = list(dict.fromkeys([*old_arms, *new_arms]))
    threshold = limits["standardised_difference"]
    result = Summary(trial, old.record.version, new.record.version, arms, threshold)
    for name in dict.fromkeys([*before, *after]):
        was, now = before.get(name), after.get(name)
        if name.startswith("balance:"):
            for arm in [a for a in arms if a in (was or {}) or a in (now or {})]:
                d_was, d_now = (was or {}).get(arm), (now or {}).get(arm)
                result.figures.append(Headline(name, arm, d_was, d_now, _balance_moved(d_was, d_now, threshold)))
            continue
        for arm in [ALL, *arms]:
            n_was = None if was is None else was.get(arm, 0)
            n_now = None if now is None else now.get(arm, 0)
            result.figures.append(Headline(name, arm, n_was, n_now, n_was != n_now))
    if not arms:
        result.notes.append("no arm role in dataset.yaml: figures are for all participants")
    return result


def _completed(old_meta: dict, new_meta: dict, old: Version, new: Version) -> tuple[dict, dict]:
    """Each version's roles, with the roles only the other declares where its columns exist."""
    old_roles, new_roles = dict(old_meta.get("roles") or {}), dict(new_meta.get("roles") or {})

    def fits(value: Any, names: list[str]) -> bool:
        value = value.get("column") if isinstance(value, dict) else value  # a status with its event codes
        return all(n in names for n in (value if isinstance(value, list) else [value]))

    filled_old = {r: v for r, v in new_roles.items() if r not in old_roles and fits(v, old.record.columns)}
    filled_new = {r: v for r, v in old_roles.items() if r not in new_roles and fits(v, new.record.columns)}
    return {**old_roles, **filled_old}, {**new_roles, **filled_new}


def _figures(version: Version, metadata: dict, limits: dict) -> dict[str, Any]:
    """Figure name -> {arm (None for all): value} for one version, and its arms under "arms"."""
    from ..checks.integrity import version_view

    trial = version_view(version, metadata, limits)
    arms = trial.arms() if trial.has("arm") else []
    figures: dict[str, Any] = {"arms": arms}
    figures["participants"] = _counts(trial, "true")
    for name, condition in _events(trial):
        figures[name] = _counts(trial, condition)
    if trial.has("arm") and trial.roles.get("baseline") and arms:
        figures.update(_balance(trial))
    return figures


def _events(trial: Trial) -> list[tuple[str, str]]:
    roles = trial.roles
    found = []
    if trial.has("status"):
        found.append((f"events: status ({roles['status']})", "coalesce(status, false)"))
    if trial.has("flag"):
        found.append((f"events: death flag ({roles['death_flag']})", "coalesce(flag, false)"))
    if trial.has("death"):
        found.append((f"events: death date ({roles['death']})", "death IS NOT NULL"))
    for alias, column in zip(trial.events, roles.get("events") or []):
        found.append((f"events: event date ({column})", f"{alias} IS NOT NULL"))
    return found


def _counts(trial: Trial, condition: str) -> dict[Any, int]:
    counts = {ALL: trial.sql(f"SELECT count(*) FILTER (WHERE {condition}) FROM t")[0][0]}
    if trial.has("arm"):
        counts |= dict(trial.sql(f"SELECT arm, count(*) FILTER (WHERE {condition}) FROM t "
                                 "WHERE arm IS NOT NULL GROUP BY arm"))
    return counts


def _balance(trial: Trial) -> dict[str, dict[Any, float | None]]:
    """Standardised difference of each covariate, each arm against the reference arm, as ``ipd check`` has it."""
    from ..checks.integrity import balance

    figures: dict[str, dict[Any, float | None]] = {}
    for row in balance(trial).figures[0].rows:
        covariate, _, arm, reference, *_, d = row
        figures.setdefault(f"balance: {covariate} (d against arm {reference})", {})[arm] = d
    return figures


def _balance_moved(was: float | None, now: float | None, threshold: float) -> bool:
    """Moved: changed by BALANCE_MOVE or more, crossed the threshold, or became (in)computable."""
    if was is None or now is None:
        return (was is None) != (now is None)
    return abs(now - was) >= BALANCE_MOVE or (abs(was) > threshold) != (abs(now) > threshold)
