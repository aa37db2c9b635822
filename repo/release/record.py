"""A release's record in git, and its W3C PROV record.

``datasets/TRIAL/releases/vN-TIER.json`` says what was released: from which
version, for which tier, under which approval, with the SHA-256 of every file
and the fingerprint of the released rows. A requestor's pull checks the
package against it, and ``ipd status`` reads these records (never the data)
to tell release holders about newer releases. The PROV record
(``provenance/TRIAL/vN-TIER.json``, built by ``provenance.release_document``)
links the release to the version and the approval it used, and to the
curator, the approver and the tool.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..repository import layout

PACKAGE_FORMAT = 3  # what a release built now is
NAME = re.compile(r"^(v[1-9][0-9]*)-([a-z]+)\.json$")


def release_name(version: str, tier: str) -> str:
    return f"{version}-{tier}"


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
    # 2: the package names the version and its delivery by sealed identifiers (release.sealing); 1: by their
    # hashes and file name, as releases recorded before sealing were built (and are rebuilt, byte for byte).
    # 3: centre and technician codes drawn at random per tier and kept in the linkage (release.codes), and
    # centres counted as quasi-identifiers in disclosure.json; 2 and 1 are rebuilt with their sorted codes.
    package_format: int = 1

    @property
    def name(self) -> str:
        return release_name(self.version, self.tier)

    @property
    def number(self) -> int:
        return int(self.version[1:])

    def to_json(self) -> str:
        found = asdict(self)
        if self.package_format == 1:
            del found["package_format"]  # a record written before the field reads as it always has
        return json.dumps(found, indent=2, ensure_ascii=False) + "\n"

    @property
    def sealed(self) -> bool:
        return self.package_format >= 2

    @classmethod
    def from_json(cls, text: str) -> ReleaseRecord:
        return cls(**json.loads(text))

    def summary(self) -> dict[str, Any]:
        return {"trial": self.trial, "version": self.version, "tier": self.tier, "rows": self.rows,
                "fingerprint": self.fingerprint, "created": self.created, "approved_by": self.approval.get("by")}


def records(root: Path, trial: str, tier: str | None = None) -> list[ReleaseRecord]:
    """The trial's releases in the work tree (of one tier, if given), oldest version first."""
    folder = root / layout.trial(trial).releases
    found = [ReleaseRecord.from_json(p.read_text()) for p in folder.glob("v*-*.json") if NAME.fullmatch(p.name)]
    return sorted((r for r in found if tier is None or r.tier == tier), key=lambda r: (r.number, r.tier))
