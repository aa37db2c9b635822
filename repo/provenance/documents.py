"""Building the PROV-JSON of a version and of a release.

The documents are pure functions of their inputs (records, identities,
hashes, check results), so writing one again gives the same bytes: its
SHA-256 is what the next record in the chain names. Identifiers live in the
``ipd`` namespace: ``ipd:TRIAL/vN`` a version, ``ipd:TRIAL/source/vN/FILE``
a delivery, ``ipd:TRIAL/releases/vN-TIER`` a release (``…/vN-TIER-K`` its issue K, which
was a revision of issue K-1); activities are
``ipd:KIND/TRIAL/NAME``; agents ``ipd:curator/EMAIL``, ``ipd:approver/NAME``
and ``ipd:tool/ipd-repo/VERSION``. The attribute names ``ipd verify`` reads
(``ipd:fingerprint``, ``ipd:parts``, ``ipd:previousRecordSha256``,
``ipd:entriesSha256``, ``ipd:provenanceRecordSha256``, ``ipd:manifestSha256``)
are a contract.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends import rowkey
from ..corrections.log import entries_sha256
from ..repository import layout

if TYPE_CHECKING:
    import prov.model as pm

    from ..backends.git import Identity
    from ..corrections.log import Correction
    from ..release.record import ReleaseRecord
    from ..repository.records import VersionRecord

NAMESPACE = "urn:ipd-repo:"
TOOL_NAME = "ipd-repo"


@dataclass(frozen=True)
class Validation:
    """What the checks of a version found: the validation result entity of its record."""

    success: bool
    results: int
    failing: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, report: Any) -> Validation:
        """From a ``checks.results.CheckReport``."""
        return cls(report.success, len(report.results), [r.name for r in report.results if not r.success])


KINDS = {"correction": "Commit", "pooled": "Pool"}  # the activity that made a version, by its kind


def version_document(record: VersionRecord, curator: Identity, previous_hash: str | None, *,
                     suite_sha256: str | None = None, validation: Validation | None = None,
                     entries: list[Correction] | None = None, origins: dict[str, dict] | None = None) -> str:
    """PROV-JSON for the activity that made ``record`` (an ingest or a commit), and for its checks.

    ``entries`` are the correction log entries the commit applied (their line hashes are recorded);
    ``validation`` is given when the command ran the checks on the new version; ``origins``: the queries
    release holders proposed that those entries answer (query id -> ``Query.origin``), each an entity the log
    derives from, attributed to its requestor.
    """
    doc, pm = _document()
    trial, version = record.trial, record.version
    created = dt.datetime.fromisoformat(record.created)

    entity = doc.entity(f"ipd:{trial}/{version}", {
        "prov:type": "ipd:Version", "ipd:fingerprint": record.fingerprint, "ipd:rows": record.rows,
        "ipd:key": ",".join(rowkey.columns(record.key)), "ipd:parts": ",".join(f"{p.name}:{p.md5}" for p in record.parts),
        **({"ipd:previousRecordSha256": previous_hash} if previous_hash else {}),
    })
    activity = doc.activity(f"ipd:{record.kind}/{trial}/{version}", created, created, {
        "prov:type": f"ipd:{KINDS.get(record.kind, 'Ingest')}",
        "ipd:message": record.message,
        **({"ipd:corrections": ",".join(record.corrections)} if record.corrections else {}),
        **({"ipd:acceptedFailures": ";".join(record.override["new_failures"]),
            "ipd:acceptedBecause": record.override["reason"]} if record.override else {}),
    })
    person = _curator(doc, pm, curator)
    tool = _tool(doc, pm, record.tool)
    doc.wasGeneratedBy(entity, activity, created)
    doc.wasAssociatedWith(activity, person)
    doc.wasAssociatedWith(activity, tool)
    doc.wasAttributedTo(entity, person)
    if record.delivery:
        source = doc.entity(f"ipd:{trial}/{record.delivery['file']}", {
            "prov:type": "ipd:Delivery", "ipd:sha256": record.delivery["sha256"],
            "ipd:size": record.delivery["size"], "ipd:format": record.delivery["format"],
            **({"ipd:origin": record.delivery["origin"]} if record.delivery.get("origin") else {}),
        })
        doc.used(activity, source, created)
        doc.wasDerivedFrom(entity, source, activity)
    if record.parent:
        doc.wasRevisionOf(entity, f"ipd:{trial}/{record.parent}")
    for source in record.sources:  # a pooled version: each trial version, through its mapping
        _pooled_from(doc, trial, source, entity, activity, created)
    if record.corrections:  # the log entries applied, and the version they were applied to
        log = doc.entity(f"ipd:{trial}/corrections.jsonl#{version}", {
            "prov:type": "ipd:CorrectionLog", "ipd:entries": ",".join(record.corrections),
            **({"ipd:entriesSha256": entries_sha256(entries)} if entries else {}),
        })
        doc.used(activity, log, created)
        doc.used(activity, f"ipd:{trial}/{record.parent}", created)
        doc.wasDerivedFrom(entity, log, activity)
        for qid, origin in sorted((origins or {}).items()):
            _requestor_query(doc, pm, trial, qid, origin, log)
    if suite_sha256:
        suite = doc.entity(f"ipd:{trial}/expectations.json#{version}", {
            "prov:type": "ipd:ExpectationSuite", "ipd:path": layout.trial(trial).suite, "ipd:sha256": suite_sha256})
        doc.wasAttributedTo(suite, person)
        if validation is not None:
            _check(doc, trial, version, created, entity, suite, validation, (person, tool))
    return doc.serialize(indent=2) + "\n"


def _check(doc: pm.ProvDocument, trial: str, version: str, when: dt.datetime, entity, suite,
           validation: Validation, agents) -> None:
    """The check activity: it used the version and the suite, and generated the validation result."""
    check = doc.activity(f"ipd:check/{trial}/{version}", when, when, {"prov:type": "ipd:Check"})
    result = doc.entity(f"ipd:{trial}/{version}/validation", {
        "prov:type": "ipd:ValidationResult", "ipd:success": validation.success, "ipd:results": validation.results,
        **({"ipd:failing": ";".join(validation.failing)} if validation.failing else {}),
    })
    doc.used(check, entity, when)
    doc.used(check, suite, when)
    doc.wasGeneratedBy(result, check, when)
    for agent in agents:
        doc.wasAssociatedWith(check, agent)


def release_document(record: ReleaseRecord, curator: Identity, version_record_sha256: str | None,
                     sealed: bool = False) -> str:
    """PROV-JSON: the release activity used the version and the approval, and generated the release and its files.

    ``sealed``: the catalogue's copy, for a record whose restricted hashes are sealed (``catalogue.seal``); the
    version is then named by its sealed fingerprint, not by a path of the curation repository.
    """
    doc, pm = _document()
    trial, version, approval = record.trial, record.version, record.approval
    created = dt.datetime.fromisoformat(record.created)
    release = doc.entity(f"ipd:{trial}/releases/{record.name}", {
        "prov:type": "ipd:Release", "ipd:tier": record.tier, "ipd:fingerprint": record.fingerprint,
        "ipd:rows": record.rows, "ipd:manifestSha256": record.files.get("manifest.json", ""),
        **({"ipd:issue": record.issue, "ipd:reissueReason": record.reissue_reason} if record.issue > 1 else {}),
    })
    source = doc.entity(f"ipd:sealed/{record.version_fingerprint.removeprefix('sealed:')}" if sealed
                        else f"ipd:{trial}/{version}", {
        "prov:type": "ipd:Version", "ipd:fingerprint": record.version_fingerprint,
        **({"ipd:provenanceRecordSha256": version_record_sha256} if version_record_sha256 else {}),
    })
    approved = doc.entity(f"ipd:{trial}/{approval['file']}", {
        "prov:type": "ipd:Approval", "ipd:planSha256": approval["plan_sha256"], "ipd:sha256": approval["sha256"],
        **({"ipd:when": str(approval["when"])} if approval.get("when") else {}),
        **_accepted_risk(approval.get("accepted_risk")),
    })
    activity = doc.activity(f"ipd:release/{trial}/{record.name}", created, created,
                            {"prov:type": "ipd:BuildRelease", "ipd:tier": record.tier})
    person = _curator(doc, pm, curator)
    approver = doc.agent(f"ipd:approver/{_slug(str(approval['by']))}",
                         {"prov:type": pm.PROV["Person"], "ipd:name": str(approval["by"])})
    tool = _tool(doc, pm, record.tool)
    doc.used(activity, source, created)
    doc.used(activity, approved, created)
    doc.wasGeneratedBy(release, activity, created)
    doc.wasDerivedFrom(release, source, activity)
    doc.wasAssociatedWith(activity, person)
    doc.wasAssociatedWith(activity, tool)
    doc.wasAttributedTo(approved, approver)
    doc.wasAttributedTo(release, person)
    if record.issue > 1:  # a reissue revises the issue before it (same version and tier)
        from ..release.record import release_name

        doc.wasRevisionOf(release, f"ipd:{trial}/releases/{release_name(version, record.tier, record.issue - 1)}")
    for name, sha256 in sorted(record.files.items()):
        file = doc.entity(f"ipd:{trial}/releases/{record.name}/{name}",
                          {"prov:type": "ipd:ReleaseFile", "ipd:path": name, "ipd:sha256": sha256})
        doc.wasGeneratedBy(file, activity, created)
        doc.hadMember(release, file)
    return doc.serialize(indent=2) + "\n"


def _accepted_risk(accepted: dict | None) -> dict[str, str]:
    """An approval of a plan that misses its risk targets says so: who accepted the risk, why, and the figures."""
    if not accepted:
        return {}
    import json

    return {"ipd:acceptedRiskReason": str(accepted.get("reason", "")),
            "ipd:acceptedRiskBy": str(accepted.get("by", "")),
            "ipd:acceptedRiskFigures": json.dumps(accepted.get("figures", {}), sort_keys=True, ensure_ascii=False)}


def _document():
    import prov.model as pm

    doc = pm.ProvDocument()
    doc.add_namespace("ipd", NAMESPACE)
    return doc, pm


def _curator(doc: pm.ProvDocument, pm, curator: Identity):
    return doc.agent(f"ipd:curator/{curator.email}", {"prov:type": pm.PROV["Person"], "ipd:name": curator.name})


def _pooled_from(doc: pm.ProvDocument, topic: str, source: dict, entity, activity, when: dt.datetime) -> None:
    """A topic's pooled version derives from a trial version, through the mapping (by its hash) it used."""
    version = doc.entity(f"ipd:{source['trial']}/{source['version']}", {
        "prov:type": "ipd:Version", "ipd:fingerprint": source["fingerprint"]})
    mapping = doc.entity(f"ipd:{topic}/{source['mapping']}#{source['mapping_sha256'][:12]}", {
        "prov:type": "ipd:TopicMapping", "ipd:sha256": source["mapping_sha256"]})
    doc.used(activity, version, when)
    doc.used(activity, mapping, when)
    doc.wasDerivedFrom(entity, version, activity)


def _requestor_query(doc: pm.ProvDocument, pm, trial: str, qid: str, origin: dict, log) -> None:
    """A release holder's proposed query, the origin of the log entries that answer it."""
    query = doc.entity(f"ipd:{trial}/queries.jsonl#{qid}", {
        "prov:type": "ipd:RequestorQuery", "ipd:release": origin.get("release", ""),
        "ipd:proposalSha256": origin.get("proposal", "")})
    name, _, email = str(origin.get("requestor", "")).rpartition(" <")
    person = doc.agent(f"ipd:requestor/{_slug(email.rstrip('>') or origin.get('requestor', ''))}", {
        "prov:type": pm.PROV["Person"], "ipd:name": name or str(origin.get("requestor", ""))})
    doc.wasAttributedTo(query, person)
    doc.wasDerivedFrom(log, query)


def _tool(doc: pm.ProvDocument, pm, tool: dict[str, str]):
    return doc.agent(f"ipd:tool/{TOOL_NAME}/{tool.get('version', '')}", {
        "prov:type": pm.PROV["SoftwareAgent"], "ipd:name": TOOL_NAME, "ipd:version": tool.get("version", "")})


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "-", text).strip("-") or "unknown"
