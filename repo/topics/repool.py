"""A pooled version pooled again from the trial versions and mappings it names, for ``ipd verify --rebuild``.

Rebuilding a pooled version from the rows it kept (``source/vN/pooled.parquet``)
shows the parts are those rows; pooling again shows the rows are what the
trials' versions and the mappings give. Each mapping is read as it was when the
version was cut (the git blob at the version's commit), and must hash as the
version record says; each trial version is read as stored (its parts are
verified by fingerprint). The rows pooled again, read as ingest read them,
must have the recorded fingerprint.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..errors import RepoError
from ..repository import layout
from . import dictionary as topic_dictionary
from . import mapping as topic_mapping

if TYPE_CHECKING:
    from ..repository import Repository
    from ..repository.records import VersionRecord


def repooled_fingerprint(repo: Repository, record: VersionRecord, commit: str) -> str:
    """The fingerprint of ``record``'s rows pooled again; a RepoError names what cannot be read."""
    import pyarrow as pa

    from ..backends import parquet
    from ..backends.tables import read_tables
    from ..repository.fingerprint import of_table
    from .build import POOLED_FILE, pooled

    topic = record.trial
    paths = layout.trial(topic)
    found = topic_dictionary.parse(yaml.safe_load(_blob(repo, commit, paths.topic)), f"{paths.topic} at {commit[:12]}")
    tables = []
    for source in record.sources:
        relative = paths.file(source["mapping"])
        text = _blob(repo, commit, relative)
        if hashlib.sha256(text).hexdigest() != source["mapping_sha256"]:
            raise RepoError(f"{relative} at commit {commit[:12]} does not hash to the mapping the version names")
        mapping = topic_mapping.parse(yaml.safe_load(text), relative, source["mapping_sha256"])
        version = repo.dataset(source["trial"]).version(source["version"])
        if version.record.fingerprint != source["fingerprint"]:
            raise RepoError(f"{source['trial']}@{source['version']} has fingerprint {version.record.fingerprint}, "
                            f"but {topic}@{record.version} was pooled from {source['fingerprint']}")
        tables.append(pooled(mapping, found, version, relative))
    with tempfile.TemporaryDirectory(prefix="ipd-repool-") as scratch:
        file = Path(scratch) / POOLED_FILE
        parquet.write(pa.concat_tables(tables), file)
        (delivery,) = read_tables(file, record.reader).values()
        return of_table(delivery.table)


def _blob(repo: Repository, commit: str, path: str) -> bytes:
    found = repo.scm.blob(commit, path)
    if found is None:
        raise RepoError(f"{path} is not in commit {commit[:12]}")
    return found
