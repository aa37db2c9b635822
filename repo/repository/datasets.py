"""A trial in a repository: its ``dataset.yaml`` and its versions.

``dataset.yaml`` holds what a curator maintains about the trial: the key, the
roles of columns, the partitioning, the deliveries received, and the data
dictionary. It is versioned with git, so the file at a version's commit is
that version's dictionary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import InvalidInput, NotFound
from ..versions.records import Version, VersionRecord
from . import layout

if TYPE_CHECKING:
    from . import Repository


def load_metadata(text: str, source: str) -> dict[str, Any]:
    """The parsed file; libyaml's parser where PyYAML has it (the dictionary of a 5,000-column trial takes
    4 s in pure Python), PyYAML's own for the message when the text is not valid YAML."""
    try:
        data = _parse(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: expected a mapping of settings")
    return data


def _parse(text: str) -> Any:
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return yaml.safe_load(text)  # raises again, with PyYAML's message


def dump_metadata(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


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

    def metadata(self, at: str | None = None) -> dict[str, Any]:
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
