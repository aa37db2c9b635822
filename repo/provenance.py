"""W3C PROV records, one per version, written with the ``prov`` library.

Each record names the delivery (or, for a corrected version, the correction
log entries and the parent version) it used, the version it generated (fingerprint, rows, part hashes), the curator and the tool, and the
version it revises. It also carries the SHA-256 of the trial's previous
record, so the records of a trial form a hash chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from .gitscm import Identity
from .versions import VersionRecord

NAMESPACE = "urn:ipd-repo:"
TOOL_NAME = "ipd-repo"


def record_path(trial: str, version: str) -> str:
    return f"provenance/{trial}/{version}.json"


def previous_record_hash(root: Path, trial: str, parent: str | None) -> str | None:
    if parent is None:
        return None
    path = root / record_path(trial, parent)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def version_document(record: VersionRecord, curator: Identity, previous_hash: str | None) -> str:
    """PROV-JSON for the activity that made ``record`` (an ingest of a delivery)."""
    import prov.model as pm

    doc = pm.ProvDocument()
    doc.add_namespace("ipd", NAMESPACE)
    trial, version = record.trial, record.version
    created = dt.datetime.fromisoformat(record.created)

    entity = doc.entity(f"ipd:{trial}/{version}", {
        "prov:type": "ipd:Version", "ipd:fingerprint": record.fingerprint, "ipd:rows": record.rows,
        "ipd:key": record.key, "ipd:parts": ",".join(f"{p.name}:{p.md5}" for p in record.parts),
        **({"ipd:previousRecordSha256": previous_hash} if previous_hash else {}),
    })
    activity = doc.activity(f"ipd:{record.kind}/{trial}/{version}", created, created, {
        "ipd:message": record.message,
        **({"ipd:corrections": ",".join(record.corrections)} if record.corrections else {}),
        **({"ipd:acceptedFailures": ";".join(record.override["new_failures"]),
            "ipd:acceptedBecause": record.override["reason"]} if record.override else {}),
    })
    person = doc.agent(f"ipd:curator/{curator.email}", {"prov:type": pm.PROV["Person"], "ipd:name": curator.name})
    tool = doc.agent(f"ipd:tool/{TOOL_NAME}/{record.tool.get('version', '')}",
                     {"prov:type": pm.PROV["SoftwareAgent"], "ipd:name": TOOL_NAME})
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
    if record.corrections:  # the log entries applied, and the version they were applied to
        log = doc.entity(f"ipd:{trial}/corrections.jsonl#{version}", {
            "prov:type": "ipd:CorrectionLog", "ipd:entries": ",".join(record.corrections)})
        doc.used(activity, log, created)
        doc.used(activity, f"ipd:{trial}/{record.parent}", created)
        doc.wasDerivedFrom(entity, log, activity)
    return doc.serialize(indent=2) + "\n"
