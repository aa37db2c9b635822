"""A release's record in git, and its W3C PROV record.

``datasets/TRIAL/releases/vN-TIER.json`` says what was released: from which
version, for which tier, under which approval, with the SHA-256 of every file
and the fingerprint of the released rows. A requestor's pull checks the
package against it, and ``ipd status`` reads these records (never the data)
to tell release holders about newer releases. The PROV record
(``provenance/TRIAL/vN-TIER.json``) links the release to the version and the
approval it used, and to the curator, the approver and the tool.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..gitscm import Identity

NAME = re.compile(r"^(v[1-9][0-9]*)-([a-z]+)\.json$")


def release_name(version: str, tier: str) -> str:
    return f"{version}-{tier}"


def package_path(trial: str, version: str, tier: str) -> str:
    """The DVC-tracked directory holding the package."""
    return f"datasets/{trial}/releases/{release_name(version, tier)}"


def record_path(trial: str, version: str, tier: str) -> str:
    return f"{package_path(trial, version, tier)}.json"


def provenance_path(trial: str, version: str, tier: str) -> str:
    return f"provenance/{trial}/{release_name(version, tier)}.json"


@dataclass(frozen=True)
class ReleaseRecord:
    trial: str
    version: str
    tier: str
    created: str
    author: str
    version_fingerprint: str
    fingerprint: str  # of the released rows
    rows: int
    columns: list[str]
    participant_id: str  # the column release IDs replace (the linkage maps its values)
    approval: dict[str, Any]  # file, sha256 (of the approval record), plan_sha256, by, when
    files: dict[str, str]  # every file of the package -> sha256 (the manifest included)
    excluded: dict[str, int]
    tool: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return release_name(self.version, self.tier)

    @property
    def number(self) -> int:
        return int(self.version[1:])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ReleaseRecord:
        return cls(**json.loads(text))

    def summary(self) -> dict[str, Any]:
        return {"trial": self.trial, "version": self.version, "tier": self.tier, "rows": self.rows,
                "fingerprint": self.fingerprint, "created": self.created, "approved_by": self.approval.get("by")}


def records(root: Path, trial: str, tier: str | None = None) -> list[ReleaseRecord]:
    """The trial's releases in the work tree (of one tier, if given), oldest version first."""
    folder = root / "datasets" / trial / "releases"
    found = [ReleaseRecord.from_json(p.read_text()) for p in folder.glob("v*-*.json") if NAME.match(p.name)]
    return sorted((r for r in found if tier is None or r.tier == tier), key=lambda r: (r.number, r.tier))


def document(record: ReleaseRecord, curator: Identity, version_record_sha256: str | None) -> str:
    """PROV-JSON: the release activity used the version and the approval, and generated the release."""
    import prov.model as pm

    from ..provenance import NAMESPACE, TOOL_NAME

    doc = pm.ProvDocument()
    doc.add_namespace("ipd", NAMESPACE)
    trial, version, approval = record.trial, record.version, record.approval
    created = dt.datetime.fromisoformat(record.created)
    release = doc.entity(f"ipd:{trial}/releases/{record.name}", {
        "prov:type": "ipd:Release", "ipd:tier": record.tier, "ipd:fingerprint": record.fingerprint,
        "ipd:rows": record.rows, "ipd:manifestSha256": record.files.get("manifest.json", ""),
    })
    source = doc.entity(f"ipd:{trial}/{version}", {
        "prov:type": "ipd:Version", "ipd:fingerprint": record.version_fingerprint,
        **({"ipd:provenanceRecordSha256": version_record_sha256} if version_record_sha256 else {}),
    })
    approved = doc.entity(f"ipd:{trial}/{approval['file']}", {
        "prov:type": "ipd:Approval", "ipd:planSha256": approval["plan_sha256"], "ipd:sha256": approval["sha256"],
    })
    activity = doc.activity(f"ipd:release/{trial}/{record.name}", created, created, {"ipd:tier": record.tier})
    person = doc.agent(f"ipd:curator/{curator.email}", {"prov:type": pm.PROV["Person"], "ipd:name": curator.name})
    approver = doc.agent(f"ipd:approver/{_slug(str(approval['by']))}",
                         {"prov:type": pm.PROV["Person"], "ipd:name": str(approval["by"])})
    tool = doc.agent(f"ipd:tool/{TOOL_NAME}/{record.tool.get('version', '')}",
                     {"prov:type": pm.PROV["SoftwareAgent"], "ipd:name": TOOL_NAME})
    doc.used(activity, source, created)
    doc.used(activity, approved, created)
    doc.wasGeneratedBy(release, activity, created)
    doc.wasDerivedFrom(release, source, activity)
    doc.wasAssociatedWith(activity, person)
    doc.wasAssociatedWith(activity, tool)
    doc.wasAttributedTo(approved, approver)
    doc.wasAttributedTo(release, person)
    return doc.serialize(indent=2) + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "-", text).strip("-") or "unknown"


def sha256_text(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
