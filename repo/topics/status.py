"""Whether a topic's latest pooled version is behind its trials, and what a rebuild would change.

A trial corrected since the last build has a newer version than the one the
pooled version names; a mapping edited since is another mapping. The rebuild's
rows are pooled now, in memory, and compared with the latest pooled version's
by ``pooled_id`` (``release.notes.compare``, as text: a type the reader settled
differently is no change), so the counts are those ``ipd topic build`` would cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..corrections import log as correctionlog
from ..errors import InvalidInput
from ..progress import SILENT, Progress
from ..repository import layout
from ..repository.refs import version_number
from .build import mappings, pool
from .dictionary import POOLED_ID

if TYPE_CHECKING:
    from ..repository import Repository


@dataclass(frozen=True)
class Behind:
    trial: str
    pooled: str | None  # the version the latest pooled version holds; None: not pooled yet
    latest: str
    corrections: list[str]  # the trial's log entries applied since

    def to_json(self) -> dict[str, Any]:
        return {"trial": self.trial, "pooled": self.pooled, "latest": self.latest, "corrections": self.corrections}


@dataclass(frozen=True)
class TopicStatus:
    topic: str
    version: str | None  # the latest pooled version; None: never built
    behind: list[Behind] = field(default_factory=list)
    mappings_changed: list[str] = field(default_factory=list)  # trials whose mapping differs from the one pooled
    cells: int = 0  # what a rebuild would change
    added: int = 0
    removed: int = 0
    columns: list[str] = field(default_factory=list)  # columns added or removed

    @property
    def stale(self) -> bool:
        return bool(self.behind or self.mappings_changed) or self.version is None

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "version": self.version, "stale": self.stale,
                "behind": [b.to_json() for b in self.behind], "mappings_changed": self.mappings_changed,
                "rebuild": {"cells": self.cells, "added": self.added, "removed": self.removed,
                            "columns": self.columns}}


def status(repo: Repository, topic: str, progress: Progress = SILENT) -> TopicStatus:
    from ..release.notes import (
        CELL,
        COLUMN_ADDED,
        COLUMN_REMOVED,
        RECORD_ADDED,
        RECORD_REMOVED,
        compare,
    )

    current = mappings(repo, topic)
    if not (repo.root / layout.trial(topic).metadata).is_file():
        if not current:
            raise InvalidInput(f"topic {topic} maps no trial yet (`ipd topic map {topic} TRIAL@vN --mapping FILE`)")
        return TopicStatus(topic, None, [Behind(t, None, repo.dataset(t).latest().version, [])
                                         for t in current])
    latest = repo.dataset(topic).version()
    pooled = {s["trial"]: s for s in latest.record.sources}
    behind = [_behind(repo, trial, pooled.get(trial)) for trial in current]
    changed = [t for t, m in current.items() if t not in pooled or pooled[t]["mapping_sha256"] != m.sha256]
    with progress.step(f"pooling {topic} as a rebuild would"):
        rebuilt = pool(repo, topic, progress=progress).table
    with progress.step(f"comparing with {topic}@{latest.record.version}"):
        changes = compare(latest.to_arrow(), rebuilt, POOLED_ID)
    count = {kind: sum(c.change == kind for c in changes) for kind in (CELL, RECORD_ADDED, RECORD_REMOVED)}
    columns = [c.column for c in changes if c.change in (COLUMN_ADDED, COLUMN_REMOVED)]
    return TopicStatus(topic, latest.record.version, [b for b in behind if b.pooled != b.latest], changed,
                       count[CELL], count[RECORD_ADDED], count[RECORD_REMOVED], columns)


def _behind(repo: Repository, trial: str, pooled: dict[str, Any] | None) -> Behind:
    latest = repo.dataset(trial).latest().version
    if pooled is None:
        return Behind(trial, None, latest, [])
    low, high = version_number(pooled["version"]), version_number(latest)
    entries = [e.id for e in correctionlog.read(repo.root / layout.trial(trial).log)
               if e.version and low < version_number(e.version) <= high]
    return Behind(trial, pooled["version"], latest, entries)
