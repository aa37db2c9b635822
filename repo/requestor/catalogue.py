"""Reading a release catalogue, as a release holder does: its release records and release notes, at its head.

A catalogue holds no version records and no correction log, so what a holder
learns of newer releases comes from the releases themselves and from their
notes, which speak of released values only (``release.notes``). Netted over the releases since the holder's,
the notes say which of the holder's cells changed (from the value in their copy to the latest), and which of
their records are gone.
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


Record = tuple[str | None, str | None, str | None]  # (table, None: the trial's data; release ID; rest of its key)


@dataclass(frozen=True)
class RecordChange:
    """A record the holder has that the latest release has not (removed), or the other way round (added)."""

    release_id: str
    record: str | None = None  # the rest of its key, where a participant has several records ("enum=2")
    table: str | None = None  # another table of the trial; None: the trial's data
    reasons: tuple[str, ...] = ()  # the public reasons the notes gave, in order

    def to_json(self) -> dict[str, Any]:
        return {"release_id": self.release_id, "record": self.record, "table": self.table,
                "reasons": list(self.reasons)}


@dataclass(frozen=True)
class CellChange:
    """One of the holder's released cells whose value now differs: ``was`` as in their copy, ``now`` as in the
    latest release (as the notes render values: text, "" for missing)."""

    release_id: str
    column: str
    was: str
    now: str
    record: str | None = None
    table: str | None = None
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"release_id": self.release_id, "record": self.record, "table": self.table, "column": self.column,
                "was": self.was, "now": self.now, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Listing:
    """The holder's changed cells and removed records one by one, and the records added; each None when a
    release in between was published without notes."""

    cells: list[CellChange] | None
    removed: list[RecordChange] | None
    added: list[RecordChange] | None


UNKNOWN = Listing(None, None, None)


@dataclass(frozen=True)
class NetChanges:
    """What changed for a holder of one release by a later one: the net of the notes in between."""

    cells: int | None  # None: a release in between was published without notes
    added: int | None
    removed: int | None
    columns_added: list[str] | None
    columns_removed: list[str] | None
    reasons: dict[str, int]  # public reason -> how many changes it explains
    listing: Listing = UNKNOWN


@dataclass
class _Net:
    """The notes' changes folded in order: per cell its first old and last new value, per record and column
    whether it existed at the pin and exists now, and the public reasons given for each cell and record."""

    cells: dict[tuple[Record, str], list[str]] = field(default_factory=dict)  # -> [first old, last new]
    records: dict[Record, list[bool]] = field(default_factory=dict)  # -> [existed at the pin, exists now]
    columns: dict[str, list[bool]] = field(default_factory=dict)  # TABLE.COLUMN for another table
    reasons: dict[str, int] = field(default_factory=dict)
    explained: dict[tuple, list[str]] = field(default_factory=dict)  # a cell or record -> its reasons

    def add(self, change: dict[str, Any]) -> None:
        kind = change["change"]
        record = (change.get("table"), change.get("release_id"), change.get("record"))
        target: tuple | None = None
        if kind == "cell":
            target = (record, change["column"])
            self.cells.setdefault(target, [change["old"], change["new"]])[1] = change["new"]
        elif kind in ("record_added", "record_removed"):
            target = record
            self.records.setdefault(record, [kind == "record_removed", True])[1] = kind == "record_added"
        else:
            self.columns.setdefault(_column(change.get("table"), change["column"]),
                                    [kind == "column_removed", True])[1] = kind == "column_added"
        if reason := change.get("reason"):
            self.reasons[reason] = self.reasons.get(reason, 0) + 1
            if target is not None and reason not in (said := self.explained.setdefault(target, [])):
                said.append(reason)

    def held(self, record: Record) -> bool:
        """Whether the holder has the record and the latest release still does."""
        return self.records.get(record, [True, True]) == [True, True]

    def changed(self) -> dict[tuple[Record, str], list[str]]:
        """The cells counted as changed (as ever: any column, so one added or removed since the pin too)."""
        return {cell: values for cell, values in self.cells.items()
                if values[0] != values[1] and self.held(cell[0])}

    def listing(self) -> Listing:
        """The changed cells of columns the holder has and the latest release still has (a column added or
        removed since is reported as such, not cell by cell), and the records removed and added."""
        cells = [CellChange(record[1], column, was, now, record[2], record[0], self._said((record, column)))
                 for (record, column), (was, now) in self.changed().items()
                 if self.columns.get(_column(record[0], column), [True, True]) == [True, True]]

        def records(removed: bool) -> list[RecordChange]:
            return [RecordChange(record[1], record[2], record[0], self._said(record))
                    for record, (before, now) in self.records.items() if (before, now) == (removed, not removed)]

        return Listing(*(sorted(found, key=_order) for found in (cells, records(True), records(False))))

    def _said(self, target: tuple) -> tuple[str, ...]:
        return tuple(self.explained.get(target, ()))


def _column(table: str | None, column: str) -> str:
    return f"{table}.{column}" if table else column


def _order(change: CellChange | RecordChange) -> tuple[str, ...]:
    """As the notes sort their changes: by table, release ID, the rest of the key, column."""
    return (change.table or "", change.release_id or "", change.record or "", getattr(change, "column", ""))


def net_changes(notes: list[dict[str, Any] | None]) -> NetChanges:
    """Changes of consecutive releases' notes combined: a cell changed and changed back is no change."""
    if any(n is None for n in notes):
        return NetChanges(None, None, None, None, None, {})
    net = _Net()
    for change in (c for n in notes for c in n["changes"]):
        net.add(change)
    records, columns = net.records.values(), net.columns.items()
    return NetChanges(
        len(net.changed()),
        sum(1 for before, now in records if now and not before),
        sum(1 for before, now in records if before and not now),
        sorted(c for c, (before, now) in columns if now and not before),
        sorted(c for c, (before, now) in columns if before and not now),
        dict(sorted(net.reasons.items(), key=lambda item: (-item[1], item[0]))),
        net.listing())
