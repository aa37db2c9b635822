"""A release's record in git, and its W3C PROV record.

``datasets/TRIAL/releases/vN-TIER.json`` says what was released: from which
version, for which tier, under which approval, with the SHA-256 of every file
and the fingerprint of the released rows. A requestor's pull checks the
package against it, and ``ipd status`` reads these records (never the data)
to tell release holders about newer releases. The PROV record
(``provenance/TRIAL/vN-TIER.json``, built by ``provenance.release_document``)
links the release to the version and the approval it used, and to the
curator, the approver and the tool.

Records are written once, so a release of vN for a tier is replaced by a new
*issue* of it (``ipd release --reissue``): the first issue keeps the name
``vN-TIER``, so every record, path and pin written before issues existed reads
as it did; issue K>=2 is ``vN-TIER-K``. A tier's releases are ordered by
(version number, issue), and "the release of vN" is its latest issue.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..repository import layout

PACKAGE_FORMAT = 4  # what a release built now is: 2 seals restricted hashes, 3 draws centre codes at random,
# 4 writes SAS transport version 5 (eight-character names, the dictionary's xpt_name); earlier ones rebuild as built
# A release record's file name: version, tier, and the issue (absent for the first).
NAME = re.compile(r"^(v[1-9][0-9]*)-([a-z]+)(?:-([2-9]|[1-9][0-9]+))?\.json$")


def release_name(version: str, tier: str, issue: int = 1) -> str:
    return f"{version}-{tier}" + (f"-{issue}" if issue > 1 else "")


def parse_name(file_name: str) -> tuple[str, str, int] | None:
    """(version, tier, issue) of a release record's file name (``v1-commercial-2.json``); None for another file."""
    found = NAME.fullmatch(file_name)
    return (found.group(1), found.group(2), int(found.group(3) or 1)) if found else None


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
    issue: int = 1  # 2, 3, ...: a reissue of the same version and tier (``ipd release --reissue``)
    reissue_reason: str = ""  # why it was reissued, as the curator said

    @property
    def name(self) -> str:
        return release_name(self.version, self.tier, self.issue)

    @property
    def number(self) -> int:
        return int(self.version[1:])

    @property
    def order(self) -> tuple[int, int]:
        """Where the release stands among its tier's: by version, then issue."""
        return self.number, self.issue

    @property
    def label(self) -> str:
        """``TRIAL@vN (TIER)``, with the issue after the first: how messages name the release."""
        return f"{self.trial}@{self.version} ({self.tier}{f', issue {self.issue}' if self.issue > 1 else ''})"

    @property
    def reference(self) -> str:
        """``TRIAL@vN/TIER`` (``TRIAL@vN/TIER-K`` for issue K): as lineage and publication records name it."""
        return f"{self.trial}@{self.version}/{self.tier}" + (f"-{self.issue}" if self.issue > 1 else "")

    def to_json(self) -> str:
        found = asdict(self)
        # Fields at their defaults are left out: a record written before they existed reads as it always has.
        for key, default in (("package_format", 1), ("issue", 1), ("reissue_reason", "")):
            if found[key] == default:
                del found[key]
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
    """The trial's releases in the work tree (of one tier, if given), oldest version first, then by issue."""
    folder = root / layout.trial(trial).releases
    found = [ReleaseRecord.from_json(p.read_text()) for p in folder.glob("v*-*.json") if NAME.fullmatch(p.name)]
    return sorted((r for r in found if tier is None or r.tier == tier), key=lambda r: (r.number, r.tier, r.issue))


def latest_issue(releases: list[ReleaseRecord], version: str, tier: str) -> ReleaseRecord | None:
    """The release of ``version`` for ``tier``: its latest issue (None when it has none)."""
    found = [r for r in releases if r.version == version and r.tier == tier]
    return max(found, key=lambda r: r.issue) if found else None


def before(releases: list[ReleaseRecord], release: ReleaseRecord) -> ReleaseRecord | None:
    """The release of ``release``'s tier just before it, by (version, issue): its previous issue, or for a first
    issue the latest issue of the tier's previous version."""
    earlier = [r for r in releases if r.tier == release.tier and r.order < release.order]
    return max(earlier, key=lambda r: r.order) if earlier else None
