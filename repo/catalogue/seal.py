"""The catalogue's copy of a release record: restricted hashes sealed (see ``release.sealing``).

A version's fingerprint, the hash of its PROV record or of an approval file
are hashes of restricted bytes; published as they are, anyone holding a guess
of the data could confirm it. The catalogue carries them keyed with the
trial's secret (the linkage's, which never leaves the restricted zone) as
HMAC-SHA-256: opaque to a requestor, recomputable by the curator, so
``ipd verify`` can still match the two zones value for value.
"""

from __future__ import annotations

import dataclasses

from ..release.record import ReleaseRecord
from ..release.sealing import seal


def public_record(record: ReleaseRecord, secret: bytes) -> ReleaseRecord:
    """The release record as the catalogue shows it: restricted hashes sealed, everything else as recorded."""
    approval = dict(record.approval)
    if approval.get("sha256"):
        approval["sha256"] = seal(secret, str(approval["sha256"]))
    return dataclasses.replace(record, version_fingerprint=seal(secret, record.version_fingerprint),
                               approval=approval)
