"""Approving a release plan, and finding the approval a release is built under.

The NHLBI requires the summary of all modifications to be approved before
they are made. ``approve`` records who approved which plan, exactly: the
version's fingerprint, the rules, every modification per tier and the plan's
SHA-256, with the approver's name, a note, the time, and the git identity
that recorded it, in ``datasets/TRIAL/releases/approvals/vN.json`` (one
commit, together with the rules in ``dataset.yaml`` it approves). A release
is built only while the rules give that same plan; any change to the rules,
the consent lists or the dictionary asks for a new approval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends import clock
from ..errors import InvalidInput, NotFound
from ..progress import SILENT, Progress
from ..repository import layout
from . import rules as rulebook
from .anchors import require_remedies
from .consent import require_consent
from .plan import PROPOSED, Plan, approved_tiers
from .plan import plan as make_plan
from .rules import ReleaseRules

if TYPE_CHECKING:
    from ..repository import Repository


def approval_path(trial: str, version: str) -> str:
    return layout.trial(trial).approval(version)


@dataclass(frozen=True)
class Approval:
    trial: str
    version: str
    fingerprint: str  # of the version approved
    rules: ReleaseRules
    modifications: dict[str, Any]  # per tier: excluded and every modification, as the plan listed them
    plan_sha256: str
    by: str  # who approved (the division director, say), as given
    note: str
    when: str  # UTC, ISO 8601
    recorded_by: str  # the git identity that recorded the approval
    # A plan that misses its risk targets, approved anyway: reason, by, and per tier the targets and figures
    accepted_risk: dict[str, Any] | None = None

    @property
    def path(self) -> str:
        return approval_path(self.trial, self.version)

    def to_json(self) -> str:
        data = {"trial": self.trial, "version": self.version, "fingerprint": self.fingerprint,
                "rules": rulebook.to_yaml(self.rules), "modifications": self.modifications,
                "plan_sha256": self.plan_sha256, "by": self.by, "note": self.note, "when": self.when,
                "recorded_by": self.recorded_by}
        if self.accepted_risk is not None:
            data["accepted_risk"] = self.accepted_risk
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Approval:
        data = json.loads(text)
        return cls(**{**data, "rules": rulebook.from_yaml(data["rules"])})


def read_approval(repo: Repository, trial: str, version: str) -> Approval | None:
    path = repo.root / approval_path(trial, version)
    if not path.is_file():
        return None
    try:
        return Approval.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInput(f"{approval_path(trial, version)} is not an approval written by `ipd release approve` "
                           f"({' '.join(str(exc).split())})") from exc


def _day(approval: Approval) -> str:
    return approval.when[:10]


def missed_targets(plan: Plan) -> dict[str, list[str]]:
    """Per tier, the risk targets the plan misses (only rules that declare targets are held to them)."""
    if not plan.rules.targets:
        return {}
    return {t.tier: t.assessment.misses for t in plan.tiers if t.assessment is not None and t.assessment.misses}


def _accepted(plan: Plan, reason: str | None, by: str) -> dict[str, Any] | None:
    """The risk accepted with the approval, or a refusal: a plan missing its targets needs a reason, and a reason
    is only recorded for a plan that needs one."""
    missed = missed_targets(plan)
    label = f"{plan.trial}@{plan.version}"
    if reason is not None and not reason.strip():
        raise InvalidInput("--accept-risk needs a reason")
    if not missed:
        if reason is not None:
            raise InvalidInput(f"the release plan of {label} meets its risk targets: there is no risk to accept "
                               "(leave out --accept-risk)")
        return None
    said = "; ".join(f"{tier}: {', '.join(misses)}" for tier, misses in missed.items())
    if reason is None:
        raise InvalidInput(f"the release plan of {label} misses its risk targets ({said}): protect the data further "
                           "in the release rules, or approve with --accept-risk REASON")
    figures = {t.tier: {"targets": t.risk["targets"], "misses": t.risk["misses"], "after": t.risk["after"],
                        "quasi_identifiers": t.risk["quasi_identifiers"]} for t in plan.tiers if t.tier in missed}
    return {"reason": reason.strip(), "by": by.strip(), "figures": figures}


def approve(repo: Repository, trial: str, version: str, by: str, note: str | None = None,
            progress: Progress = SILENT, accept_risk: str | None = None) -> Approval:
    """Record the approval of the plan the rules give ``trial@version`` now (one that misses its risk targets only
    with ``accept_risk``, the reason the risk is accepted, recorded with the figures)."""
    if not by or not by.strip():
        raise InvalidInput("an approval needs the approver's name (--by NAME)")
    dataset = repo.dataset(trial)
    name = dataset.version(version).record.version
    relative = approval_path(trial, name)
    metadata = layout.trial(trial).metadata
    with repo.writing([relative, metadata]):
        current = make_plan(repo, trial, name, progress)
        if current.source == PROPOSED:
            raise InvalidInput(f"{trial} has no release rules in {metadata}: save the proposal with "
                               f"`ipd release plan {trial}@{name} --save`, review it, then approve")
        for tier in rulebook.TIERS:  # a plan that cannot be built is not worth approving
            require_consent(trial, current.rules, tier)
        require_remedies(metadata, f"{trial}@{name}", current.tiers)
        accepted = _accepted(current, accept_risk, by)
        previous = read_approval(repo, trial, name)
        if previous is not None and previous.plan_sha256 == current.sha256:
            raise InvalidInput(f"the release plan of {trial}@{name} is already approved (plan sha256 "
                               f"{current.sha256[:12]}, by {previous.by} on {_day(previous)})")
        approval = Approval(trial, name, current.fingerprint, current.rules, approved_tiers(current),
                            current.sha256, by.strip(), (note or "").strip(),
                            clock.now(),
                            str(repo.scm.identity()), accepted)
        path = repo.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(approval.to_json(), encoding="utf-8")
        again = "re-approved" if previous is not None else "approved"
        repo.scm.commit([relative, metadata], f"Release plan of {trial}@{name} {again} by {approval.by} "
                                              f"(plan sha256 {current.sha256[:12]})")
    return approval


def current_approval(repo: Repository, trial: str, version: str, plan: Plan | None = None) -> Approval:
    """The approval of ``plan`` (computed now when not given); refused when missing or for another plan."""
    approval = read_approval(repo, trial, version)
    ref = f"{trial}@{version}"
    if approval is None:
        raise NotFound(f"{ref} has no approved release plan: run `ipd release plan {ref}` and "
                       f"`ipd release approve {ref} --by NAME`")
    plan = plan or make_plan(repo, trial, version)
    if approval.plan_sha256 != plan.sha256:
        raise InvalidInput(f"the release rules of {ref} changed since its approved plan (sha256 "
                           f"{approval.plan_sha256[:12]}, approved by {approval.by} on {_day(approval)}): review "
                           f"`ipd release plan {ref}` and approve again")
    return approval
