"""``ipd release`` with a catalogue: the build's last step publishes the release it recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..progress import SILENT, Progress
from ..release.record import ReleaseRecord
from ..repository import Repository
from . import configured
from .publish import Published, publish


@dataclass
class Publisher:
    """The hook ``release.build`` runs inside its transaction; remembers what it published."""

    url: str
    progress: Progress = SILENT
    published: list[Published] = field(default_factory=list)

    @classmethod
    def of(cls, repo: Repository, progress: Progress = SILENT) -> Publisher | None:
        url = configured(repo.settings)
        return cls(url, progress) if url else None

    def __call__(self, repo: Repository, record: ReleaseRecord) -> None:
        self.published.append(publish(repo, record, self.url, self.progress, notes=release_notes))


def release_notes(repo: Repository, record: ReleaseRecord) -> dict[str, str]:
    """The notes a publication carries (suffix -> text): released values only, keyed by release ID."""
    from ..release.notes import linkage_ids, notes

    found = notes(repo, record.trial, record.tier, record.version,
                  linkage_ids(repo, record.trial, record.tier, record.version))
    return {"json": found.to_json(), "md": found.to_markdown()}
