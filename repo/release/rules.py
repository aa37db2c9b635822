"""Release rules: how one version becomes a de-identified release, kept in ``dataset.yaml``.

The rules follow the NHLBI policy for preparing data sets: direct identifiers
deleted, participant IDs replaced, centre and technician identifiers deleted or
recoded, sensitive variables and verbatim text deleted, dates coded relative to
randomisation, and quasi-identifiers protected so that every value is shared by
at least ``min_cell`` participants in each race–sex cell. The curator writes
them under ``release:``; ``load`` refuses anything it cannot apply exactly,
naming the file and the rule, because a rule silently ignored is a participant
silently exposed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TIERS = ("noncommercial", "commercial")
ACTIONS = ("keep", "collapse", "trim", "topcode", "bottomcode", "group", "delete")
GROUPED = ("collapse", "group")
CODED = ("trim", "topcode", "bottomcode")
IDENTIFIER_ACTIONS = ("delete", "recode")
DATE_MODES = ("relative", "shift")
ANCHOR_REMEDIES = ("coarsen", "jitter", "none")
CONSENT = ("no_sharing", "no_commercial")
CONSENT_SETTINGS = ("column", "refused", "file", "id_column", "sha256", "none", "reason", "by", "when")
DATE_TYPES = ("date", "datetime")
NUMERIC_TYPES = ("integer", "number", "decimal")
DEFAULT_MIN_CELL = 20
DEFAULT_TOP_AGE = 90
KEYS = ("min_cell", "race", "sex", "participant_id", "identifiers", "centres", "technicians", "sensitive",
        "free_text", "dates", "age", "quasi_identifiers", "consent", "keep", "rationale", "exceptions", "targets",
        "generalise")
# Risk targets over the quasi-identifier set (``risk``): k >= 5 is the threshold most often applied (EMA Policy 0070
# guidance on anonymisation; common practice in HIPAA expert determination); an average re-identification risk of
# 0.09 is the EMA's threshold for public release of clinical reports; at most 5% of records locally suppressed.
DEFAULT_K = 5
DEFAULT_AVERAGE_RISK = 0.09
DEFAULT_SUPPRESSION = 0.05


@dataclass(frozen=True)
class Protection:
    """How one quasi-identifier is protected."""

    column: str
    action: str  # one of ACTIONS
    groups: dict[str, list] | None = None  # collapse / group: new value -> the old values it stands for


@dataclass(frozen=True)
class AnchorRule:
    """What is done where a released column meets a calendar date many participants share (``anchors``)."""

    column: str
    remedy: str  # one of ANCHOR_REMEDIES
    unit: int | None = None  # coarsen: the days at the anchor are rounded to the nearest multiple of this
    days: int | None = None  # jitter: a keyed per-participant offset within ±days (never 0)
    reason: str | None = None  # none: why the exposure is accepted

    def to_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"remedy": self.remedy}
        for name in ("unit", "days", "reason"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class Targets:
    """What a tier's release must achieve over the quasi-identifier set (``risk.quasi_identifier_set``)."""

    k: int = DEFAULT_K  # smallest equivalence class
    average_risk: float = DEFAULT_AVERAGE_RISK  # mean over records of 1 / class size (prosecutor)
    suppression: float = DEFAULT_SUPPRESSION  # at most this share of records locally suppressed

    def to_yaml(self) -> dict[str, Any]:
        return {"k": self.k, "average_risk": self.average_risk, "suppression": self.suppression}


@dataclass(frozen=True)
class Generalisation:
    """One quasi-identifier released at a level of its hierarchy (``generalise``): numbers in bands of
    ``width`` (1: whole units) with everything below ``bottom`` (from ``top``) in one band; categories in
    ``groups``; centres in ``pool`` released as one code."""

    column: str
    width: int | None = None
    bottom: Any = None
    top: Any = None
    groups: dict[str, list] | None = None
    pool: list | None = None

    def to_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.width is not None:
            out["width"] = self.width
            for name in ("bottom", "top"):
                if getattr(self, name) is not None:
                    out[name] = getattr(self, name)
        if self.groups is not None:
            out["groups"] = {str(k): list(v) for k, v in self.groups.items()}
        if self.pool is not None:
            out["pool"] = list(self.pool)
        return out


@dataclass(frozen=True)
class DateRule:
    mode: str = "relative"  # NHLBI: days since the reference date; "shift": PhUSE per-participant offset
    reference: str | None = None  # default: the trial's randomised role
    columns: list[str] = field(default_factory=list)  # default: every date and datetime column
    anchors: list[AnchorRule] = field(default_factory=list)  # remedies for shared calendar dates (anchors.py)


@dataclass(frozen=True)
class AgeRule:
    column: str | None = None
    top: int = DEFAULT_TOP_AGE  # ages from here on become one category (HIPAA Safe Harbor: 90 or over)


@dataclass(frozen=True)
class ConsentRule:
    """Who refused: a column of the data and its refusing values, a file of IDs in restricted storage, or an
    explicit statement that nobody did (``none``, with its reason: silence is not consent)."""

    column: str | None = None
    refused: list = field(default_factory=list)
    file: str | None = None  # relative to datasets/TRIAL/
    id_column: str | None = None  # the file's column of IDs (default: the key's name, or the first column)
    sha256: str | None = None  # of the file as received (written by `ipd release consent`)
    none: bool = False  # nobody refused: a statement, made with a reason
    reason: str | None = None
    by: str | None = None  # who recorded the rule, and when (`ipd release consent`)
    when: str | None = None

    def to_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"none": True} if self.none else {}
        if self.column:
            out.update(column=self.column, refused=list(self.refused))
        for name in ("file", "id_column", "sha256", "reason", "by", "when"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class ReleaseRules:
    participant_id: str
    min_cell: int = DEFAULT_MIN_CELL
    race: str | None = None
    sex: str | None = None
    identifiers: list[str] = field(default_factory=list)
    centres: dict[str, str] = field(default_factory=dict)  # column -> "delete" | "recode"
    technicians: dict[str, str] = field(default_factory=dict)  # column -> "delete" | "recode"
    sensitive: list[str] = field(default_factory=list)
    free_text: list[str] = field(default_factory=list)
    dates: DateRule = field(default_factory=DateRule)
    age: AgeRule = field(default_factory=AgeRule)
    quasi_identifiers: list[Protection] = field(default_factory=list)
    no_sharing: ConsentRule | None = None  # excluded from every tier
    no_commercial: ConsentRule | None = None  # also excluded from the commercial tier
    keep: list[str] = field(default_factory=list)  # reviewed and released as they are
    rationale: dict[str, str] = field(default_factory=dict)  # column -> why the rule for it was chosen
    # column -> why it may be released although its content looks identifying or sensitive (content.py)
    exceptions: dict[str, str] = field(default_factory=dict)
    targets: dict[str, Targets] = field(default_factory=dict)  # per tier; empty: none declared (rules before them)
    generalise: dict[str, Generalisation] = field(default_factory=dict)  # column -> its level of generalisation


PROPOSAL_INPUTS = ("consent", "targets")  # what a curator may record before the rules, and the proposal keeps


def has_rules(metadata: dict[str, Any]) -> bool:
    """Whether the curator wrote de-identification rules: consent alone (``ipd release consent``) is not them, nor
    risk targets alone (the proposal meets them)."""
    release = metadata.get("release")
    return release is not None and (not isinstance(release, dict) or any(k not in PROPOSAL_INPUTS for k in release))


def to_yaml(rules: ReleaseRules) -> dict[str, Any]:
    """The rules as ``release:`` holds them; ``load`` reads them back unchanged."""
    out: dict[str, Any] = {"min_cell": rules.min_cell}
    for name in ("race", "sex"):
        if getattr(rules, name):
            out[name] = getattr(rules, name)
    out["participant_id"] = rules.participant_id
    for name in ("identifiers", "centres", "technicians", "sensitive", "free_text"):
        value = getattr(rules, name)
        if value:
            out[name] = list(value) if isinstance(value, list) else dict(value)
    out["dates"] = {"mode": rules.dates.mode, "reference": rules.dates.reference, "columns": list(rules.dates.columns)}
    if rules.dates.anchors:  # only when there are: rules without them keep the plan digest they had
        out["dates"]["anchors"] = {a.column: a.to_yaml() for a in rules.dates.anchors}
    if rules.age.column or rules.age.top != DEFAULT_TOP_AGE:
        out["age"] = {**({"column": rules.age.column} if rules.age.column else {}), "top": rules.age.top}
    if rules.quasi_identifiers:
        out["quasi_identifiers"] = {
            p.column: {"action": p.action, **({"groups": {str(k): list(v) for k, v in p.groups.items()}}
                                              if p.groups is not None else {})}
            for p in rules.quasi_identifiers}
    consent = {}
    for name in CONSENT:
        rule = getattr(rules, name)
        if rule is not None:
            consent[name] = rule.to_yaml()
    if consent:
        out["consent"] = consent
    if rules.keep:
        out["keep"] = list(rules.keep)
    if rules.rationale:
        out["rationale"] = dict(rules.rationale)
    if rules.exceptions:  # only when there are some: the rules approved before them keep their plan's hash
        out["exceptions"] = dict(rules.exceptions)
    if rules.targets:
        out["targets"] = targets_yaml(rules.targets)
    if rules.generalise:
        out["generalise"] = {name: g.to_yaml() for name, g in rules.generalise.items()}
    return out


def targets_yaml(targets: dict[str, Targets]) -> dict[str, Any]:
    """One mapping when every tier has the same targets, else one per tier."""
    values = [targets[t] for t in TIERS if t in targets]
    if len(values) == len(TIERS) and all(v == values[0] for v in values):
        return values[0].to_yaml()
    return {t: targets[t].to_yaml() for t in TIERS if t in targets}


def targets_from_yaml(data: dict[str, Any]) -> dict[str, Targets]:
    def one(raw: dict[str, Any], base: Targets) -> Targets:
        return Targets(raw.get("k", base.k), raw.get("average_risk", base.average_risk),
                       raw.get("suppression", base.suppression))

    shared = one(data, Targets())
    return {t: one(data.get(t) or {}, shared) for t in TIERS}


def generalisation_from_yaml(name: str, raw: dict[str, Any]) -> Generalisation:
    return Generalisation(name, raw.get("width"), raw.get("bottom"), raw.get("top"), raw.get("groups"), raw.get("pool"))


def from_yaml(data: dict[str, Any]) -> ReleaseRules:
    """Rules as ``to_yaml`` wrote them (in an approval), read back without checking them again:
    they were checked against the data when they were approved."""
    dates, age = data.get("dates") or {}, data.get("age") or {}
    consent = data.get("consent") or {}

    def consent_rule(name: str) -> ConsentRule | None:
        raw = consent.get(name)
        if raw is None:
            return None
        return ConsentRule(raw.get("column"), list(raw.get("refused") or []), raw.get("file"), raw.get("id_column"),
                           raw.get("sha256"), bool(raw.get("none")), raw.get("reason"), raw.get("by"), raw.get("when"))

    return ReleaseRules(
        participant_id=data["participant_id"], min_cell=data.get("min_cell", DEFAULT_MIN_CELL),
        race=data.get("race"), sex=data.get("sex"), identifiers=list(data.get("identifiers") or []),
        centres=dict(data.get("centres") or {}), technicians=dict(data.get("technicians") or {}),
        sensitive=list(data.get("sensitive") or []), free_text=list(data.get("free_text") or []),
        dates=DateRule(dates.get("mode", "relative"), dates.get("reference"), list(dates.get("columns") or []),
                       [AnchorRule(name, a["remedy"], a.get("unit"), a.get("days"), a.get("reason"))
                        for name, a in (dates.get("anchors") or {}).items()]),
        age=AgeRule(age.get("column"), age.get("top", DEFAULT_TOP_AGE)),
        quasi_identifiers=[Protection(name, p["action"], p.get("groups"))
                           for name, p in (data.get("quasi_identifiers") or {}).items()],
        no_sharing=consent_rule("no_sharing"), no_commercial=consent_rule("no_commercial"),
        keep=list(data.get("keep") or []), rationale=dict(data.get("rationale") or {}),
        exceptions=dict(data.get("exceptions") or {}),
        targets=targets_from_yaml(data["targets"]) if data.get("targets") else {},
        generalise={name: generalisation_from_yaml(name, raw) for name, raw in (data.get("generalise") or {}).items()})
