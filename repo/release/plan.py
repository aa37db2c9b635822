"""The release plan: the rules of a trial and every modification they make to one version.

The NHLBI asks that "a summary of all proposed modifications and deletions"
be approved before they are made. The plan is that summary: the rules (from
``dataset.yaml``, or proposed from the dictionary and the data when the trial
has none yet), and, for each access tier, who is excluded by consent and every
change de-identification makes (variable, action, parameters, rows affected,
rationale), computed by the same code that builds the release. Its SHA-256
over canonical JSON identifies it: an approval names it, and a release is built
only while the rules still give that very plan.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends import rowkey
from ..backends.sql import connect
from ..errors import InvalidInput
from ..progress import SILENT, Progress
from ..repository import layout
from ..repository.metadata import Metadata
from . import recognise
from . import rules as rulebook
from .outcomes import with_follow_up
from .proposal import propose
from .ruleload import load as load_rules
from .rules import TIERS, ReleaseRules

if TYPE_CHECKING:
    import pyarrow as pa

    from ..repository import Repository
    from ..repository.datasets import Dataset
    from .anchors import Exposure
    from .content import Finding
    from .deidentify import Modification
    from .exposure import Treated
    from .recognise import Found

FROM_FILE, PROPOSED = "dataset.yaml", "proposed"


@dataclass(frozen=True)
class TierPlan:
    tier: str
    excluded: dict[str, int]  # {"no_sharing": n, "no_commercial": m}
    modifications: list[Modification]
    # released text columns a spreadsheet would run as formulas (scan.formulas); not part of what is approved
    formula_columns: list[str] = field(default_factory=list)
    # shared calendar dates that give reference dates back (anchors.py): from the version and the rules, which
    # the digest holds; the remedies are rules and modifications
    anchors: list[Exposure] = field(default_factory=list)
    assessment: Any = None  # risk.Assessment: risk before and after against the tier's targets, loss per variable

    @property
    def risk(self) -> dict[str, Any] | None:
        return self.assessment.to_json() if self.assessment is not None else None


@dataclass(frozen=True)
class Plan:
    trial: str
    version: str
    fingerprint: str  # of the version the plan is for
    source: str  # "dataset.yaml" or "proposed"
    rules: ReleaseRules
    tiers: list[TierPlan]
    sha256: str
    # identifiers and sensitive variables found in the values (content.py), with what the rules do with each;
    # not hashed apart: they follow from the version (its fingerprint is hashed) and the rules (hashed too)
    findings: list[Treated] = field(default_factory=list)
    # what a reviewer must be told (e.g. no race column found: cells are sex-only); derived from the rules and the
    # version's rows, both of which the digest covers, so not digested again
    warnings: list[str] = field(default_factory=list)

    @property
    def consent_missing(self) -> dict[str, list[str]]:
        """Per tier, the consent rules it needs that are not recorded (it cannot be approved without them)."""
        from .consent import missing

        return missing(self.rules)

    def to_json(self) -> dict[str, Any]:
        return {"trial": self.trial, "version": self.version, "fingerprint": self.fingerprint,
                "source": self.source, "rules": rulebook.to_yaml(self.rules), "tiers": _tiers_json(self),
                "consent_missing": self.consent_missing,
                "formula_columns": {t.tier: t.formula_columns for t in self.tiers},
                "findings": [f.to_json() for f in self.findings], "warnings": list(self.warnings),
                "date_anchors": {t.tier: [asdict(e) for e in t.anchors] for t in self.tiers}, "sha256": self.sha256}


@dataclass(frozen=True)
class SavedProposal:
    trial: str
    version: str
    rules: ReleaseRules
    replaced: bool
    commit: str | None  # None when the rules saved were the rules already there: nothing changed


def _tiers_json(plan: Plan, risk: bool = True) -> dict[str, Any]:
    return {t.tier: {"excluded": dict(t.excluded), "modifications": [asdict(m) for m in t.modifications],
                     **({"risk": t.risk} if risk and t.assessment is not None else {})}
            for t in plan.tiers}


def approved_tiers(plan: Plan) -> dict[str, Any]:
    """The tiers as an approval records them: with their risk figures when the rules hold targets (the approval
    is of those figures), as they were for rules written before targets."""
    return _tiers_json(plan, bool(plan.rules.targets))


def _digest(fingerprint: str, rules: ReleaseRules, tiers: list[TierPlan]) -> str:
    # The risk figures are in the digest when the rules hold targets (approval depends on them); rules written
    # before targets keep the digest their approvals name.
    body = {"fingerprint": fingerprint, "rules": rulebook.to_yaml(rules),
            "tiers": {t.tier: {"excluded": t.excluded, "modifications": [asdict(m) for m in t.modifications],
                               **({"risk": t.risk} if rules.targets and t.assessment is not None else {})}
                      for t in tiers}}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan_metadata(dataset: Dataset, version: str) -> Metadata:
    """dataset.yaml now (the curator's rules and roles) with the dictionary the version was cut with."""
    current = dataset.metadata()
    at_version = dataset.metadata(at=version)
    labels = {c["name"]: c for c in current.columns}
    columns = []
    for entry in at_version.columns:
        now = labels.get(entry.get("name"), {})
        columns.append({**entry, **{k: now[k] for k in ("label", "description") if k in now and k not in entry}})
    tables = {"tables": at_version.tables} if at_version.tables else {}
    return Metadata({**current, "columns": columns, **tables})


def findings_in(metadata: dict[str, Any], table: pa.Table) -> list[Finding]:
    """What the values hold that names and labels may not say (content.scan); the key is replaced anyway."""
    from .content import scan

    labels = {c["name"]: str(c.get("label") or c.get("description") or "") for c in metadata.get("columns") or []
              if isinstance(c, dict) and "name" in c}
    return scan(table, labels, tuple(rowkey.columns(metadata.get("key") or [])))


def proposed_rules(metadata: dict[str, Any], table: pa.Table, findings: list[Finding] | None = None) -> ReleaseRules:
    """Rules proposed from the dictionary and the data, with the consent already recorded in ``dataset.yaml``
    (consent is what was delivered, not something to propose), meeting the risk targets recorded there (or the
    defaults)."""
    import dataclasses

    con = connect()
    con.register("version_rows", table)
    found = findings_in(metadata, table) if findings is None else findings
    release = metadata.get("release")
    kept = {k: release[k] for k in rulebook.PROPOSAL_INPUTS if k in release} if isinstance(release, dict) else {}
    recorded = load_rules({**metadata, "release": kept}, table.column_names) if kept else None
    proposed = propose({k: v for k, v in metadata.items() if k != "release"}, con, "version_rows",
                       table.schema, found, recorded.targets if recorded else None)
    if recorded is None:
        return proposed
    return dataclasses.replace(proposed, no_sharing=recorded.no_sharing, no_commercial=recorded.no_commercial)


def recognised(metadata: dict[str, Any], table: pa.Table) -> dict[str, Found | None]:
    """The race and sex columns the dictionary and the rows show, whatever the rules say (``recognise``)."""
    con = connect()
    con.register("version_rows", table)
    return recognise.cells(metadata, con, "version_rows", table.schema)


def plan(repo: Repository, trial: str, version: str | None = None, progress: Progress = SILENT) -> Plan:
    """The plan of ``trial@version`` (latest when None) under the rules of ``dataset.yaml`` (or proposed ones)."""
    from ..backends.columns import type_class
    from .anchors import exposures
    from .consent import consent_lists
    from .deidentify import deidentify
    from .exposure import refuse_released, treated
    from .scan import released_formulas
    from .shape import read as read_shape

    dataset = repo.dataset(trial)
    found = dataset.version(version)
    name = found.record.version
    with progress.step(f"reading {trial}@{name}"):
        shape = read_shape(found, plan_metadata(dataset, name))
    table, metadata = shape.participants, shape.metadata
    with progress.step("scanning the values for identifiers and sensitive variables"):
        findings = findings_in(metadata, table)
    if rulebook.has_rules(metadata):
        rules, source = load_rules(metadata, shape.column_names()), FROM_FILE
    else:
        with progress.step("proposing release rules from the dictionary and the data"):
            rules, source = proposed_rules(metadata, table, findings), PROPOSED
    kinds = {f.name: type_class(f.type) for f in table.schema}
    findings_treated = treated([f for f in findings if f.column != rules.participant_id], rules, kinds)
    refuse_released(findings_treated, layout.trial(trial).metadata)
    excluded_ids = consent_lists(repo.root, trial, rules)
    placeholders = {key: f"P{i:08d}" for i, key in enumerate(table[rules.participant_id].to_pylist())}
    follow_up_roles = with_follow_up(metadata.roles or {}, table)
    tiers = []
    for tier in TIERS:
        with progress.step(f"de-identifying for the {tier} tier"):
            done = deidentify(table, rules, tier, placeholders, metadata.columns, excluded_ids,
                              records=shape.records)
        tiers.append(TierPlan(tier, dict(done.excluded), list(done.modifications), released_formulas(done),
                              exposures(table, done.table, placeholders, rules, follow_up_roles),
                              done.assessment))
    fingerprint = found.record.fingerprint
    return Plan(trial, name, fingerprint, source, rules, tiers, _digest(fingerprint, rules, tiers),
                findings=findings_treated, warnings=recognise.cell_warnings(rules, recognised(metadata, table)))


def save_proposal(repo: Repository, trial: str, version: str | None = None, replace: bool = False,
                  progress: Progress = SILENT) -> SavedProposal:
    """Write the rules proposed from ``trial@version`` into ``dataset.yaml`` under ``release:``, in one commit."""
    from ..repository.datasets import dump_metadata
    from .shape import read as read_shape

    dataset = repo.dataset(trial)
    relative = layout.trial(trial).metadata
    had_rules = rulebook.has_rules(dataset.metadata())
    if had_rules and not replace:
        raise InvalidInput(f"{relative} already has release rules: edit them there, or replace them with the "
                           "proposal (--replace)")
    found = dataset.version(version)
    name = found.record.version
    with progress.step("proposing release rules from the dictionary and the data"):
        shape = read_shape(found, plan_metadata(dataset, name))
        rules = proposed_rules(shape.metadata, shape.participants)  # keeps the consent recorded, proposes the rest
    written = rulebook.to_yaml(rules)
    load_rules({**shape.metadata, "release": written}, shape.column_names())  # what is saved must load as it is
    with repo.writing([relative]):
        current = dataset.metadata()
        had_rules = rulebook.has_rules(current)  # again, under the lock: another curator may have saved meanwhile
        if had_rules and not replace:
            raise InvalidInput(f"{relative} already has release rules: edit them there, or replace them with the "
                               "proposal (--replace)")
        current["release"] = written
        dataset.metadata_path.write_text(dump_metadata(current))
        if not repo.scm.has_changes([relative]):
            return SavedProposal(trial, name, rules, had_rules, None)
        commit = repo.scm.commit([relative], f"Release rules for {trial} proposed from {trial}@{name}"
                                             f"{' (replacing the previous rules)' if had_rules else ''}")
    return SavedProposal(trial, name, rules, had_rules, commit)
