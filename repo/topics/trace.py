"""A pooled version's changes traced to the trial corrections behind them.

A topic has no correction log of its own: its rows change because a trial's
did. Between two pooled versions, each trial moved from one version to another
(their records' ``sources``); a changed cell of ``TRIAL:PARTICIPANT`` is traced
to the last entry of that trial's correction log, applied in between, about that
participant (a mapping may derive one topic variable from several of the trial's
columns, so any of the participant's entries may be the cause; the column
corrected is named with it). Entries are named ``TRIAL:cN``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..backends import rowkey
from ..backends.values import to_json
from ..corrections import log as correctionlog
from ..repository import layout
from ..repository.refs import version_number

if TYPE_CHECKING:
    from ..corrections.log import Correction
    from ..repository import Repository
    from ..repository.records import VersionRecord


def explain(repo: Repository, result: Any, old: VersionRecord, new: VersionRecord) -> Any:
    """``result`` (a ``versions.diff.Diff`` of two pooled versions, which imports this module: hence ``Any``) with
    each cell and record traced to its trial correction."""
    before = {s["trial"]: s["version"] for s in old.sources}
    after = {s["trial"]: s["version"] for s in new.sources}
    entries: dict[str, dict[str, Correction]] = {}  # "TRIAL:PARTICIPANT" -> the last entry about them
    named: dict[str, Correction] = {}
    for trial in sorted(before.keys() & after.keys()):
        low, high = sorted((version_number(before[trial]), version_number(after[trial])))
        participant = _participant_of(repo, trial)
        for entry in correctionlog.read(repo.root / layout.trial(trial).log):
            if entry.version and low < version_number(entry.version) <= high and entry.key is not None:
                entries[f"{trial}:{_text(participant(entry.key))}"] = {f"{trial}:{entry.id}": entry}

    def traced(key: Any) -> str | None:
        found = entries.get(str(key))
        if not found:
            return None
        name, entry = next(iter(found.items()))
        named[name] = entry
        return name

    result.cells = [replace(c, correction=c.correction or traced(c.key)) for c in result.cells]
    result.added = [replace(r, correction=r.correction or traced(r.key)) for r in result.added]
    result.removed = [replace(r, correction=r.correction or traced(r.key)) for r in result.removed]
    result.corrections = {**result.corrections, **dict(sorted(named.items()))}
    return result


def _participant_of(repo: Repository, trial: str):
    """The participant's value in a log entry's key (a key of several columns names it among them)."""
    from ..repository.metadata import participant_of

    metadata = repo.dataset(trial).metadata()
    columns = rowkey.columns(metadata.key or [])
    index = columns.index(participant_of(metadata.key, metadata.participant))

    def of(key: Any) -> Any:
        return key[index] if isinstance(key, (list, tuple)) else key

    return of


def _text(value: Any) -> str:
    """A participant's ID as ``pooled_id`` writes it (DuckDB's text of the value)."""
    value = to_json(value)
    return value if isinstance(value, str) else json.dumps(value)
