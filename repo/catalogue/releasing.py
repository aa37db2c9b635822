"""``ipd release`` with a catalogue: the build's last step publishes the release it recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
        url = configured(repo.settings, repo.root)
        return cls(url, progress) if url else None

    def __call__(self, repo: Repository, record: ReleaseRecord) -> None:
        self.published.append(publish(repo, record, self.url, self.progress, notes=release_notes,
                                      audit=audit_publication))


def release_notes(repo: Repository, record: ReleaseRecord) -> dict[str, str]:
    """The notes a publication carries (suffix -> text): released values only, keyed by release ID."""
    from ..release.notes import linkage_ids, notes

    found = notes(repo, record.trial, record.tier, record.version,
                  linkage_ids(repo, record.trial, record.tier, record.version), record.issue)
    return {"json": found.to_json(), "md": found.to_markdown()}


def audit_publication(repo: Repository, root: Path, record: ReleaseRecord, written: list[str]) -> list[str]:
    """The audit run on every publication before it is pushed: the files it adds to the catalogue and the data
    files it names in the release remote, looked through for every value the release removed under the plan it
    was built by (what an earlier release removed, this one may release)."""
    from ..repository import layout
    from .audit import Place, Scanner
    from .needles import collect

    scanner = Scanner(collect(repo))
    package = repo.root / layout.trial(record.trial).release_package(record.name)
    files = [(path, root / path) for path in written if not path.endswith(".dvc")]
    files += [(f"{layout.trial(record.trial).release_package(record.name)}/{p.name}", p)
              for p in sorted(package.iterdir()) if p.name in record.files]
    problems = []
    for path, file in dict(files).items():
        found, _ = scanner.scan(Place(path, [path], []), file.read_bytes(), path)
        problems += [f"{path} holds {len(f.hashes) or 'a column of'} value(s) of {f.trial}'s column {f.column} "
                     f"({f.kind}) that a release removed" for f in found]
    return problems
