"""The publication record: a trust anchor for the curation history, kept in the other zone.

``ipd verify`` checks a curation repository against its own history: hash
chains of PROV records, tags, fingerprints. Someone able to rewrite that
history can recompute all of it consistently. Each publication therefore
records, in the catalogue, the head of the curation's PROV hash chain at the
release (the SHA-256 of the release's PROV record, which carries the hash of
the record before it), the SHA-256 of the release record, the curation commit
that recorded it, and the release's fingerprints (the version's sealed). A
forger must now rewrite both zones, and the catalogue's history too, which
is pushed to a server the curator does not alone control.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..backends import clock
from ..backends.hashing import sha256_if_any
from ..errors import IntegrityError
from ..release.record import ReleaseRecord
from ..repository import Repository, layout
from .seal import seal


@dataclass(frozen=True)
class Publication:
    release: str  # TRIAL@vN/TIER (TRIAL@vN/TIER-K for issue K: ReleaseRecord.reference)
    published: str
    publisher: str
    fingerprint: str  # of the released rows
    manifest_sha256: str
    version_sealed: str  # the version's fingerprint, sealed (catalogue.seal)
    curation_commit: str  # the curation commit that recorded the release
    release_record_sha256: str  # of datasets/TRIAL/releases/vN-TIER.json in the curation repository
    provenance_sha256: str  # of the release's PROV record there: the head of its hash chain

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Publication:
        return cls(**json.loads(text))

    def anchor(self) -> dict[str, Any]:
        """What the publication vouches for: everything but when and by whom it was published."""
        found = asdict(self)
        del found["published"], found["publisher"]
        return found


def publication_for(repo: Repository, record: ReleaseRecord, secret: bytes) -> Publication:
    """The publication record of ``record``'s release, committed in ``repo``, as published now."""
    trial_paths = layout.trial(record.trial)
    record_path = trial_paths.release_record(record.name)
    commit = repo.scm.commit_adding(record_path)
    if commit is None:
        raise IntegrityError(f"{record_path} is not committed: only a recorded release can be published")
    return Publication(
        release=record.reference, published=clock.now(),
        publisher=str(repo.scm.identity()), fingerprint=record.fingerprint,
        manifest_sha256=record.files.get("manifest.json", ""),
        version_sealed=seal(secret, record.version_fingerprint), curation_commit=commit,
        release_record_sha256=sha256_if_any(repo.root / record_path) or "",
        provenance_sha256=sha256_if_any(repo.root / trial_paths.provenance_record(record.name)) or "")


def read_publications(root: Path) -> list[Publication]:
    """Every publication record of a catalogue checked out at ``root``."""
    from .paths import PUBLICATIONS

    return [Publication.from_json(p.read_text()) for p in sorted(root.glob(PUBLICATIONS))]
