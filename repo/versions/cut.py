"""Cutting a version: the one way a new version comes to be, whether ingested or corrected.

A version is its rows' Parquet parts (written by the caller), its record, its
PROV record and dataset.yaml, all committed together and tagged ``TRIAL/vN``.
``ipd ingest`` and ``ipd commit`` call ``cut`` inside their transaction; the
rebuild behind ``ipd verify --rebuild`` makes the same record from the same
parts (``written``) without committing, and compares it with the stored one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .. import provenance
from ..repository import layout
from ..repository.datasets import dump_metadata
from ..repository.fingerprint import EMPTY, fingerprint
from ..repository.records import PartRecord, VersionRecord
from ..repository.refs import tag_name

if TYPE_CHECKING:
    from ..corrections.log import Correction
    from ..repository import Repository
    from .parts import Part


def part_record(part: Part) -> PartRecord:
    """What a version's record keeps of one part it wrote."""
    return PartRecord(part.name, part.md5, part.size, part.rows, f"{part.digest.total:032x}")


def written(schema: pa.Schema, parts: list[Part]) -> dict[str, Any]:
    """A version record's rows, fingerprint and part records, for ``parts`` written from rows of ``schema``."""
    return {"rows": sum(p.rows for p in parts),
            "fingerprint": fingerprint(schema, sum((p.digest for p in parts), EMPTY)),
            "parts": [part_record(p) for p in parts]}


def cut(repo: Repository, record: VersionRecord, metadata: dict[str, Any], paths: list[str],
        entries: list[Correction] | None = None, origins: dict[str, dict] | None = None) -> str:
    """Write dataset.yaml, the version record and its PROV record, commit ``paths`` and tag the version.

    Runs inside the caller's ``repo.writing(paths)``, after the parts are stored: a failure
    anywhere leaves the repository as it was. The checks run on the new version here (their
    report is kept, so the curator's next ``ipd check`` is instant) and the PROV record names
    their result. ``entries`` are the correction log entries a commit applied, ``origins`` the release
    holders' queries they answer (``provenance.version_document``). Returns the commit.
    """
    trial, version = record.trial, record.version
    files = layout.trial(trial)
    (repo.root / files.metadata).write_text(dump_metadata(metadata))
    _write(repo.root / files.version_record(version), record.to_json())
    _write(repo.root / files.provenance_record(version), provenance.version_document(
        record, repo.scm.identity(), provenance.previous_record_hash(repo.root, trial, record.parent),
        suite_sha256=provenance.suite_sha256(repo.root, trial),
        validation=provenance.validation(repo, trial, version), entries=entries, origins=origins))
    commit = repo.scm.commit(paths, f"{trial} {version}: {record.message}")
    repo.scm.tag(tag_name(trial, version), commit, f"{trial} {version} ({record.fingerprint})")
    return commit


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
