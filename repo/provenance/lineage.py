"""The lineage of a version or release: its PROV records, read back, from it to the original delivery.

``lineage`` follows the version records in the work tree from the version
(or the release's version) to v1 through their parents, reads each one's
PROV record with the ``prov`` library, and returns the chain as steps (what
was made, by which activity, by whom, when, from what) and as one merged
PROV document. It reads what the records say, so records written by older
versions of ipd (without the suite, the checks or the release files) give a
shorter but still whole chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, InvalidInput, NotFound
from ..repository import layout
from ..repository.refs import Ref, version_number
from . import NAMESPACE

if TYPE_CHECKING:
    import prov.model as pm


@dataclass(frozen=True)
class LineageRef:
    """``TRIAL@vN`` (a version) or ``TRIAL@vN/TIER`` (its release for one tier: the latest issue), or
    ``TRIAL@vN/TIER-K`` (issue K of it)."""

    trial: str
    version: str | None
    tier: str | None = None
    issue: int | None = None  # None: the latest issue

    @classmethod
    def parse(cls, text: str) -> LineageRef:
        head, slash, tier = text.partition("/")
        ref = Ref.parse(head)
        issue = None
        if slash:
            from ..release.rules import TIERS

            if ref.version is None:
                raise InvalidInput(f"invalid reference {text!r}: a release is TRIAL@vN/TIER")
            name, dash, number = tier.partition("-")
            if dash and name in TIERS and number.isdigit() and int(number) >= 1 and not number.startswith("0"):
                tier, issue = name, int(number)
            if tier not in TIERS:
                raise InvalidInput(f"unknown tier {tier!r} in {text!r}; choose {' or '.join(TIERS)}")
        return cls(ref.trial, ref.version, tier or None, issue)

    def __str__(self) -> str:
        issue = f"-{self.issue}" if self.issue and self.issue > 1 else ""
        return f"{self.trial}@{self.version}" + (f"/{self.tier}{issue}" if self.tier else "")


@dataclass(frozen=True)
class Step:
    """One thing in the chain: a release, an approval, a version, or what a version was made from."""

    kind: str  # release, approval, version, corrections, delivery
    name: str
    activity: str | None = None  # the PROV activity that generated it
    agents: list[str] = field(default_factory=list)
    time: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Lineage:
    ref: str
    steps: list[Step]
    records: list[str]  # the PROV files read, newest first
    document: pm.ProvDocument  # the records merged into one (identical elements unified)

    def prov_json(self) -> str:
        return self.document.serialize(indent=2) + "\n"


def lineage(root: Path, text: str) -> Lineage:
    """The chain of ``text`` (``TRIAL[@vN][/TIER]``) in the work tree at ``root``, newest first.

    Parents come from the version records, not from the PROV records, so a PROV
    record that is missing or names the wrong parent cannot shorten the chain
    unnoticed: each version on the way must have its record.
    """
    ref = LineageRef.parse(text)
    files = layout.trial(ref.trial)
    if not (root / files.metadata).is_file():
        raise NotFound(f"no trial {ref.trial!r} in {root} (see `ipd list`)")
    version = start = ref.version or _latest(root, ref.trial)
    steps: list[Step] = []
    paths: list[str] = []
    docs: list[pm.ProvDocument] = []
    issue = ref.issue
    if ref.tier:
        from ..release.record import latest_issue, records, release_name

        if issue is None:
            latest = latest_issue(records(root, ref.trial, ref.tier), version, ref.tier)
            issue = latest.issue if latest else 1
        path = files.provenance_record(release_name(version, ref.tier, issue))
        if not (root / path).is_file():
            which = f" issue {issue}" if issue > 1 else ""
            raise NotFound(f"{ref.trial}@{version} has no {ref.tier} release{which}: {path} does not exist")
        record = Record.read(root, path)
        steps += _release_steps(record, ref.trial, version, ref.tier, issue)
        paths.append(path)
        docs.append(record.doc)
    while version is not None:
        path = files.provenance_record(version)
        if path in paths:
            raise IntegrityError(f"the version records of {ref.trial} go round in a circle at {version}")
        parent = _parent(root, ref.trial, version)
        if not (root / path).is_file():
            raise NotFound(f"{ref.trial}@{version} has no PROV record: {path} does not exist")
        record = Record.read(root, path)
        steps += _version_steps(record, ref.trial, version)
        paths.append(path)
        docs.append(record.doc)
        version = parent
    for source in _sources(root, ref.trial, start):  # a topic's pooled version: each trial version's chain
        pooled_from = lineage(root, f"{source['trial']}@{source['version']}")
        steps += pooled_from.steps
        paths += [p for p in pooled_from.records if p not in paths]
        docs.append(pooled_from.document)
    return Lineage(str(LineageRef(ref.trial, start, ref.tier, issue)), steps, paths, _merge(docs))


def _sources(root: Path, trial: str, version: str) -> list[dict[str, Any]]:
    """The trial versions a topic's pooled version was pooled from (none for a trial's version)."""
    import json

    return json.loads((root / layout.trial(trial).version_record(version)).read_text()).get("sources") or []


def _latest(root: Path, trial: str) -> str:
    folder = root / layout.trial(trial).versions
    names = sorted((p.stem for p in folder.glob("v*.json")), key=version_number) if folder.is_dir() else []
    if not names:
        raise NotFound(f"{trial} has no versions yet")
    return names[-1]


def _parent(root: Path, trial: str, version: str) -> str | None:
    """The parent named by the version's record in the work tree."""
    import json

    relative = layout.trial(trial).version_record(version)
    path = root / relative
    if not path.is_file():
        raise NotFound(f"{trial} has no version {version}: {relative} does not exist")
    try:
        return json.loads(path.read_text())["parent"]
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"{relative} is not a version record ({exc})") from exc


def _merge(docs: list[pm.ProvDocument]) -> pm.ProvDocument:
    import prov.model as pm

    merged = pm.ProvDocument()
    merged.add_namespace("ipd", NAMESPACE)
    for doc in docs:
        merged.update(doc)
    return merged.unified()


class Record:
    """One PROV document read back, with the lookups the lineage needs."""

    def __init__(self, doc: pm.ProvDocument) -> None:
        import prov.model as pm

        self.doc = doc
        self.elements = {str(r.identifier): r for r in doc.get_records(pm.ProvElement)}
        self.relations = [(type(r).__name__, *(str(v) for _, v in r.formal_attributes[:2]))
                          for r in doc.get_records(pm.ProvRelation)]

    @classmethod
    def read(cls, root: Path, path: str) -> Record:
        import prov.model as pm

        try:
            return cls(pm.ProvDocument.deserialize(content=(root / path).read_text(), format="json"))
        except Exception as exc:  # the prov library raises many kinds on a malformed document
            raise IntegrityError(f"{path} is not a PROV-JSON record ({type(exc).__name__}: {exc})") from exc

    def attr(self, ident: str, name: str) -> Any:
        element = self.elements.get(ident)
        values = sorted(element.get_attribute(name), key=str) if element is not None else []
        return values[0] if values else None

    def types(self, ident: str) -> set[str]:
        element = self.elements.get(ident)
        return {str(v) for v in element.get_attribute("prov:type")} if element is not None else set()

    def related(self, kind: str, first: str) -> list[str]:
        """The second element of every ``kind`` relation (e.g. ``ProvUsage``) whose first is ``first``."""
        return [b for k, a, b in self.relations if k == kind and a == first]

    def time(self, activity: str) -> str | None:
        start = self.attr(activity, "prov:startTime")
        return start.isoformat() if start is not None else None

    def agents(self, activity: str) -> list[str]:
        return [self.agent(a) for a in self.related("ProvAssociation", activity)]

    def agent(self, ident: str) -> str:
        """How a person or the tool is shown: ``Name <email>``, ``ipd-repo 0.1.0``, ``Name (approver)``."""
        name = str(self.attr(ident, "ipd:name") or ident)
        local = ident.removeprefix("ipd:")
        if local.startswith("curator/"):
            return f"{name} <{local.removeprefix('curator/')}>"
        if local.startswith("tool/"):
            return f"{name} {local.rsplit('/', 1)[1]}".strip()
        if local.startswith("approver/"):
            return f"{name} (approver)"
        return name

    def attributes(self, ident: str, *names: str) -> dict[str, Any]:
        found = {name.removeprefix("ipd:"): self.attr(ident, name) for name in names}
        return {k: _plain(v) for k, v in found.items() if v is not None}


def _plain(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _version_steps(record: Record, trial: str, version: str) -> list[Step]:
    entity = f"ipd:{trial}/{version}"
    if entity not in record.elements:
        raise IntegrityError(f"{layout.trial(trial).provenance_record(version)} has no entity {entity}")
    made = record.related("ProvGeneration", entity)
    activity = made[0] if made else None
    details = record.attributes(entity, "ipd:fingerprint", "ipd:rows", "ipd:key")
    if activity:
        details.update(record.attributes(activity, "ipd:message", "ipd:corrections", "ipd:acceptedFailures",
                                         "ipd:acceptedBecause"))
    suite = f"ipd:{trial}/expectations.json#{version}"
    if suite in record.elements:
        details["suite_sha256"] = record.attr(suite, "ipd:sha256")
    validation = f"ipd:{trial}/{version}/validation"
    if validation in record.elements:
        details["validation"] = record.attributes(validation, "ipd:success", "ipd:results", "ipd:failing")
    steps = [Step("version", f"{trial}@{version}", _short(activity), record.agents(activity) if activity else [],
                  record.time(activity) if activity else None, details)]
    for used in record.related("ProvUsage", activity) if activity else []:
        types = record.types(used)
        local = used.removeprefix(f"ipd:{trial}/")
        if "ipd:Delivery" in types:
            steps.append(Step("delivery", local, details=record.attributes(
                used, "ipd:sha256", "ipd:size", "ipd:format", "ipd:origin")))
        elif "ipd:CorrectionLog" in types:
            steps.append(Step("corrections", local.split("#", 1)[0], details=record.attributes(
                used, "ipd:entries", "ipd:entriesSha256")))
    return steps


def _release_steps(record: Record, trial: str, version: str, tier: str, issue: int = 1) -> list[Step]:
    from ..release.record import release_name

    name = release_name(version, tier, issue)
    entity = f"ipd:{trial}/releases/{name}"
    if entity not in record.elements:
        raise IntegrityError(f"{layout.trial(trial).provenance_record(name)} has no entity {entity}")
    made = record.related("ProvGeneration", entity)
    activity = made[0] if made else None
    details = record.attributes(entity, "ipd:tier", "ipd:fingerprint", "ipd:rows", "ipd:manifestSha256",
                                "ipd:issue", "ipd:reissueReason")
    revised = [r for k, a, r in record.relations if k == "ProvDerivation" and a == entity
               and r.startswith(f"ipd:{trial}/releases/")]
    if revised:
        details["revises"] = revised[0].removeprefix(f"ipd:{trial}/releases/")
    files = [e for e in record.elements if "ipd:ReleaseFile" in record.types(e)]
    if files:
        details["files"] = {str(record.attr(f, "ipd:path")): record.attr(f, "ipd:sha256") for f in sorted(files)}
    steps = [Step("release", f"{trial}@{version}/{tier}" + (f"-{issue}" if issue > 1 else ""), _short(activity),
                  record.agents(activity) if activity else [], record.time(activity) if activity else None, details)]
    for used in record.related("ProvUsage", activity) if activity else []:
        if "ipd:Approval" in record.types(used):
            by = [record.agent(a) for a in record.related("ProvAttribution", used)]
            steps.append(Step("approval", used.removeprefix(f"ipd:{trial}/"), None, by,
                              _plain(record.attr(used, "ipd:when")) if record.attr(used, "ipd:when") else None,
                              record.attributes(used, "ipd:sha256", "ipd:planSha256")))
    return steps


def _short(activity: str | None) -> str | None:
    """``ipd:correction/t/v2`` -> ``correction``: the kind of activity."""
    return activity.removeprefix("ipd:").split("/", 1)[0] if activity else None
