"""Reading a release catalogue, as a release holder does: its release records and release notes, at its head.

A catalogue holds no version records and no correction log, so what a holder
learns of newer releases comes from the releases themselves and from their
notes, which speak of released values only (``release.notes``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends.storage import RemoteRepository, is_local
from ..catalogue import MARKER, paths
from ..errors import NotFound
from ..release.record import ReleaseRecord, parse_name
from ..repository import layout


@functools.cache
def is_catalogue(source: str) -> bool:
    """Whether ``source`` is a release catalogue rather than a curation repository (asked once per source: a
    pull asks while resolving and again for its DataCite file, and a URL costs a clone)."""
    if is_local(source) and not source.startswith("file:"):
        path = Path(source).expanduser()
        if (path / layout.SETTINGS).is_file():
            return False
        if (path / MARKER).is_file():
            return True
        if not ((path / "HEAD").is_file() and (path / "objects").is_dir()):
            return False  # neither a catalogue's work tree nor a bare repository: let the caller say what it is
    with RemoteRepository(source, None) as remote:
        return remote.exists(MARKER)


@dataclass(frozen=True)
class Shelf:
    """One trial's releases of one tier in a catalogue, oldest first (by version, then issue), with the notes each
    was published with."""

    releases: list[ReleaseRecord]
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)  # release name -> its notes (JSON)


def read_shelf(source: str, trial: str, tier: str) -> Shelf:
    folder = layout.trial(trial).releases
    with RemoteRepository(source, None) as remote:
        if not remote.exists(layout.trial(trial).folder):
            raise NotFound(f"{source} has no trial {trial!r}")
        names = [n for n in (remote.listdir(folder) if remote.exists(folder) else [])
                 if (named := parse_name(n)) and named[1] == tier]
        releases = sorted((ReleaseRecord.from_json(remote.read_text(f"{folder}/{n}")) for n in names),
                          key=lambda r: r.order)
        notes = {}
        for release in releases:
            path = paths.notes(trial, release.name)
            if remote.exists(path):
                notes[release.name] = json.loads(remote.read_text(path))
    if not releases:
        raise NotFound(f"{source} has no {tier} release of {trial}")
    return Shelf(releases, notes)


@dataclass(frozen=True)
class NetChanges:
    """What changed for a holder of one release by a later one: the net of the notes in between."""

    cells: int | None  # None: a release in between was published without notes
    added: int | None
    removed: int | None
    columns_added: list[str] | None
    columns_removed: list[str] | None
    reasons: dict[str, int]  # public reason -> how many changes it explains


def net_changes(notes: list[dict[str, Any] | None]) -> NetChanges:
    """Changes of consecutive releases' notes combined: a cell changed and changed back is no change."""
    if any(n is None for n in notes):
        return NetChanges(None, None, None, None, None, {})
    cells: dict[tuple, list[str]] = {}  # (record, column) -> [first old, last new]
    records: dict[tuple, list[bool]] = {}  # record -> [existed at the pin, exists now]
    columns: dict[str, list[bool]] = {}
    reasons: dict[str, int] = {}
    for change in (c for n in notes for c in n["changes"]):
        kind = change["change"]
        # a record: its table (None: the trial's data), release ID and the rest of its key, if any
        record = (change.get("table"), change.get("release_id"), change.get("record"))
        if kind == "cell":
            cells.setdefault((record, change["column"]), [change["old"], change["new"]])[1] = change["new"]
        elif kind in ("record_added", "record_removed"):
            records.setdefault(record, [kind == "record_removed", True])[1] = kind == "record_added"
        else:
            column = f"{change['table']}.{change['column']}" if change.get("table") else change["column"]
            columns.setdefault(column, [kind == "column_removed", True])[1] = kind == "column_added"
        if change.get("reason"):
            reasons[change["reason"]] = reasons.get(change["reason"], 0) + 1
    gone = {record for record, (_, now) in records.items() if not now}
    return NetChanges(
        sum(1 for (record, _), (old, new) in cells.items() if old != new and record not in gone and
            records.get(record, [True])[0]),
        sum(1 for before, now in records.values() if now and not before),
        sum(1 for before, now in records.values() if before and not now),
        sorted(c for c, (before, now) in columns.items() if now and not before),
        sorted(c for c, (before, now) in columns.items() if before and not now),
        dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))))
