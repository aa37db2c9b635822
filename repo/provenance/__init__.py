"""W3C PROV records, one per version and one per release, written and read with the ``prov`` library.

A version's record (``provenance/TRIAL/vN.json``) names the delivery (or the
correction log entries and the parent version) it used, the version it
generated (fingerprint, rows, part hashes), the expectation suite committed
with it and, where the command ran the checks, the validation result; the
curator and the tool; and the version it revises. A release's record
(``provenance/TRIAL/vN-TIER.json``) names the version and the approval it
used, the files it generated, the curator, the approver and the tool.

Each version record carries the SHA-256 of the trial's previous record, and
each release record that of its version's record, so the records of a trial
form a hash chain that ``ipd verify`` follows. ``ipd lineage`` reads them back
(see ``lineage.py``); records written by older versions of ipd, with fewer
entities, are read too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..backends.hashing import sha256_if_any
from ..repository import layout
from .documents import (
    NAMESPACE,
    TOOL_NAME,
    Validation,
    release_document,
    version_document,
)

if TYPE_CHECKING:
    from ..repository import Repository

__all__ = ["NAMESPACE", "TOOL_NAME", "Validation", "previous_record_hash", "release_document",
           "suite_sha256", "tool", "validation", "version_document"]


def tool() -> dict[str, str]:
    """How records name ipd itself: the tool agent of the PROV records, ``tool`` of version and release records."""
    from .. import __version__

    return {"name": TOOL_NAME, "version": __version__}


def previous_record_hash(root: Path, trial: str, parent: str | None) -> str | None:
    return sha256_if_any(root / layout.trial(trial).provenance_record(parent)) if parent else None


def suite_sha256(root: Path, trial: str) -> str | None:
    """The SHA-256 of the trial's expectation suite as it is in the work tree (about to be committed)."""
    return sha256_if_any(root / layout.trial(trial).suite)


def validation(repo: Repository, trial: str, version: str) -> Validation | None:
    """What the checks found on a version just cut, from the report its command kept (so nothing runs again).

    None when the trial has no suite (the command ran no checks). The version's
    record and ``dataset.yaml`` must be in the work tree.
    """
    from ..checks.run import check
    from ..repository.refs import Ref

    if suite_sha256(repo.root, trial) is None:
        return None
    return Validation.of(check(repo, Ref(trial, version)))
