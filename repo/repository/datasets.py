"""A trial in a repository: its ``dataset.yaml`` and its versions.

``dataset.yaml`` holds what a curator maintains about the trial: the key, the
roles of columns, the partitioning, the deliveries received, and the data
dictionary. It is versioned with git, so the file at a version's commit is
that version's dictionary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NotFound
from . import layout
from .metadata import Metadata
from .records import Version, VersionRecord

if TYPE_CHECKING:
    from . import Repository


def load_metadata(text: str, source: str) -> Metadata:
    """``dataset.yaml``'s text, parsed and checked (``metadata.Metadata``); ``source`` names it in errors."""
    return Metadata.parse(text, source)


def dump_metadata(data: dict[str, Any]) -> str:
    """The text of ``dataset.yaml`` holding ``data``, checked as it would be when read back."""
    return Metadata(data).dump()


class Dataset:
    def __init__(self, repo: Repository, trial: str) -> None:
        self.repo = repo
        self.trial = trial
        self.layout = layout.trial(trial)

    def __repr__(self) -> str:
        return f"<Dataset {self.trial}>"

    @property
    def path(self) -> Path:
        return self.repo.root / self.layout.folder

    @property
    def metadata_path(self) -> Path:
        return self.repo.root / self.layout.metadata

    def metadata(self, at: str | None = None) -> Metadata:
        """``dataset.yaml`` now, or at the commit of version ``at``."""
        if at is None:
            return load_metadata(self.metadata_path.read_text(), str(self.metadata_path))
        commit = self.version(at).commit()
        rel = self.layout.metadata
        return load_metadata(self.repo.scm.read(commit, rel), f"{rel} at {at}")

    def records(self) -> list[VersionRecord]:
        files = (self.repo.root / self.layout.versions).glob("v*.json")
        records = [VersionRecord.from_json(f.read_text()) for f in files]
        return sorted(records, key=lambda r: r.number)

    def latest(self) -> VersionRecord | None:
        records = self.records()
        return records[-1] if records else None

    def version(self, name: str | None = None) -> Version:
        """A version by name (``v2``), or the latest when ``name`` is None."""
        if name is None:
            latest = self.latest()
            if latest is None:
                raise NotFound(f"{self.trial} has no versions yet")
            return Version(self.repo, latest)
        path = self.repo.root / self.layout.version_record(name)
        if not path.is_file():
            latest = self.latest()
            hint = f" (latest is {latest.version})" if latest else ""
            raise NotFound(f"{self.trial} has no version {name}{hint}")
        return Version(self.repo, VersionRecord.from_json(path.read_text()))
