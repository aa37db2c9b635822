"""Whether a pulled copy is superseded, and what changed since its pin — from metadata alone.

A requestor's directory holds a pin (see ``pull``). The source it names is read
at its current head, but only its version records and its correction log, never
its data: status stays quick for a large trial, and works for a requestor whose
access to the data remote has lapsed. The log explains every changed cell of a
correction version, so the counts are net: a record added then removed, or a
cell changed and changed back, is no change to the requestor. A re-delivery has
no log entries; its record's ``changes`` (against its parent) are added in, and
when a re-delivery did not record them the counts are unknown rather than wrong.

A pulled release (its pin has a tier) is superseded by a release of a newer
version for the same tier; the changes counted are those of the versions in
between, and a newer version not yet released for the tier is noted. A
release is also superseded by a later issue of it (``release.record``: a
reissue, same version and tier); each reissue after the pin is noted with its
reason. A release pulled from a catalogue is counted from the release notes
instead (``catalogue.net_changes``), which also list the holder's changed
cells and records one by one (``Status.listing``).

Problems with the pin itself are errors, not a status: a pinned version the
source no longer has is NotFound (exit 2); one whose fingerprint differs from
the source's record of it is an IntegrityError (exit 1), since the copy was not
pulled from this source (or the source was rewritten).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import values
from ..backends.storage import RemoteRepository, is_local
from ..corrections import log as correctionlog
from ..corrections.log import Correction
from ..errors import IntegrityError, NotARepository, NotFound
from ..progress import SILENT, Progress
from ..release.record import ReleaseRecord, parse_name, release_name
from ..release.record import records as releases
from ..repository import layout
from ..repository.records import VersionRecord
from ..repository.refs import version_number
from .pin import Pin, read_pin

if TYPE_CHECKING:
    from .catalogue import Listing


@dataclass(frozen=True)
class NewerVersion:
    version: str
    created: str
    message: str
    kind: str
    changes: dict[str, Any] | None  # against its parent, as its record says

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "created": self.created, "message": self.message, "kind": self.kind,
                "changes": self.changes}


@dataclass(frozen=True)
class Reason:
    reason: str
    count: int


@dataclass(frozen=True)
class Status:
    directory: Path
    trial: str
    version: str
    fingerprint: str
    latest: str
    source: str
    versions: list[NewerVersion]
    cells_changed: int | None  # None: a re-delivery between did not record its changes
    records_added: int | None
    records_removed: int | None
    columns_added: list[str] | None
    columns_removed: list[str] | None
    reasons: list[Reason] = field(default_factory=list)  # most frequent first
    notes: list[str] = field(default_factory=list)
    tier: str | None = None  # the pin is of a release for this tier
    relations: list[dict[str, Any]] = field(default_factory=list)  # a release's, DataCite's (release.relations)
    issue: int = 1  # the pinned release's issue
    latest_issue: int = 1  # the latest release's
    reissues: list[dict[str, Any]] = field(default_factory=list)  # reissues after the pin: name, version, issue, reason
    listing: Listing | None = None  # from a catalogue's notes: the holder's changed cells, records removed and added

    @property
    def superseded(self) -> bool:
        return (self.latest, self.latest_issue) != (self.version, self.issue)

    def to_json(self) -> dict[str, Any]:
        """The fields ``ipd status --json`` promises (DESIGN.md), then the details."""
        return {"trial": self.trial, "version": self.version, "latest": self.latest, "superseded": self.superseded,
                "cells_changed": self.cells_changed, "records_added": self.records_added,
                "records_removed": self.records_removed, "columns_added": self.columns_added,
                "columns_removed": self.columns_removed,
                "source": self.source, "versions": [v.to_json() for v in self.versions],
                "reasons": [{"reason": r.reason, "count": r.count} for r in self.reasons], "notes": self.notes,
                **({"tier": self.tier, "relations": self.relations, "issue": self.issue,
                    "latest_issue": self.latest_issue, "reissues": self.reissues} if self.tier else {}),
                **(_listed(self.listing) if self.listing is not None else {})}


def _listed(listing: Listing) -> dict[str, Any]:
    """The changed cells and the records removed and added, one by one (None each: unknown)."""
    def each(found: list | None) -> list[dict[str, Any]] | None:
        return None if found is None else [f.to_json() for f in found]

    return {"cells": each(listing.cells), "removed_records": each(listing.removed),
            "added_records": each(listing.added)}


@dataclass(frozen=True)
class SourceMetadata:
    """What status reads of a source: one trial's version records (oldest first) and its correction log."""

    records: list[VersionRecord]
    log: list[Correction]
    releases: list[ReleaseRecord] = field(default_factory=list)  # of the pinned tier, oldest first


def status(directory: Path, source: str | None = None, progress: Progress = SILENT) -> Status:
    """The status of the pull in ``directory`` against its pinned source (or ``source``, if it moved)."""
    pin = read_pin(directory)
    source = source or pin.source
    if pin.tier and _is_catalogue(source):
        return _catalogue_status(pin, source, directory, progress)
    with progress.step(f"reading {source}"):
        metadata = read_source(source, pin.trial, pin.tier)
    check_pin(pin, metadata, source, directory)
    pinned = next(r for r in metadata.records if r.version == pin.version)
    latest = metadata.releases[-1].version if pin.tier else metadata.records[-1].version
    latest_issue = metadata.releases[-1].issue if pin.tier else 1
    newer = [r for r in metadata.records if pinned.number < r.number <= version_number(latest)]
    names = {r.version for r in newer}
    entries = [e for e in metadata.log if e.version in names]
    cells, added, removed, columns = _net_changes([e for e in entries if e.table is None])
    dropped: list[str] = []  # columns a re-delivery no longer has
    notes = [f"table {table}: {count} correction(s) too (the counts above are the participant table's)"
             for table, count in sorted(Counter(e.table for e in entries if e.table).items())]
    for record in newer:
        if record.kind == "correction":
            continue
        if record.changes is None:
            notes.append(f"{record.version} is a re-delivery: the trialists' new delivery replaced the data, and "
                         "its changes were not recorded, so the counts are unknown")
            continue
        notes.append(f"{record.version} is a re-delivery: the trialists' new delivery replaced the data; its "
                     f"changes against {record.parent} are counted as recorded")
        cells += record.changes.get("cells", 0)
        added += record.changes.get("added", 0)
        removed += record.changes.get("removed", 0)
        columns += [c for c in record.changes.get("columns_added", []) if c not in columns]
        for column in record.changes.get("columns_removed", []):
            if column in columns:
                columns.remove(column)
            else:
                dropped.append(column)
    unknown = any(r.kind != "correction" and r.changes is None for r in newer)
    reasons = [Reason(text, count) for text, count in Counter(e.reason for e in entries).most_common()]
    if pin.tier and metadata.records[-1].number > version_number(latest):
        notes.append(f"{metadata.records[-1].version} is the latest version, but it has no {pin.tier} release yet")
    reissued = _reissues(pin, metadata.releases, notes)
    related = _relations(pin, metadata, notes)
    return Status(directory, pin.trial, pin.version, pin.fingerprint, latest, source,
                  [NewerVersion(r.version, r.created, r.message, r.kind, r.changes) for r in newer],
                  *((None,) * 5 if unknown else (cells, added, removed, columns, dropped)), reasons, notes, pin.tier,
                  related, pin.issue, latest_issue, reissued)


def _reissues(pin: Pin, shelf: list[ReleaseRecord], notes: list[str]) -> list[dict[str, Any]]:
    """The reissues of the pinned tier after the pin, each with a note naming it and saying why."""
    if not pin.tier:
        return []
    pinned = (version_number(pin.version), pin.issue)
    found = [r for r in shelf if r.issue > 1 and r.order > pinned]
    for r in found:
        notes.append(f"{release_name(r.version, r.tier, r.issue - 1)} was reissued as {r.name}: {r.reissue_reason}")
    return [{"name": r.name, "version": r.version, "issue": r.issue, "reason": r.reissue_reason} for r in found]


def _is_catalogue(source: str) -> bool:
    from .catalogue import is_catalogue

    return is_catalogue(source)


def _catalogue_status(pin: Pin, source: str, directory: Path, progress: Progress) -> Status:
    """A release pulled from a catalogue: newer releases of its tier, and what their notes say changed."""
    from ..release.relations import obsoleted_by, of_release
    from .catalogue import net_changes, read_shelf

    with progress.step(f"reading {source}"):
        shelf = read_shelf(source, pin.trial, pin.tier)
    _check_release_pin(pin, SourceMetadata([], [], shelf.releases), source, directory)
    pinned = next(r for r in shelf.releases if r.version == pin.version and r.issue == pin.issue)
    newer = [r for r in shelf.releases if r.order > pinned.order]
    found = [shelf.notes.get(r.name) for r in newer]
    net = net_changes(found)
    versions = [NewerVersion(r.version, r.created, (n or {}).get("headline", f"{r.tier} release of {r.version}"),
                             "release", (n or {}).get("counts")) for r, n in zip(newer, found)]
    notes = [f"{r.name} was published without release notes, so the changes are unknown"
             for r, n in zip(newer, found) if n is None]
    reissued = _reissues(pin, shelf.releases, notes)
    related = of_release([], shelf.releases, pin.trial, pin.version, pin.tier, pin.issue)
    if newer_name := obsoleted_by(related):
        notes.append(f"obsoleted by {newer_name} (DataCite IsObsoletedBy)")
    latest = shelf.releases[-1]
    return Status(directory, pin.trial, pin.version, pin.fingerprint, latest.version, source, versions,
                  net.cells, net.added, net.removed, net.columns_added, net.columns_removed,
                  [Reason(text, count) for text, count in net.reasons.items()], notes, pin.tier, related,
                  pin.issue, latest.issue, reissued, net.listing)


def _relations(pin: Pin, metadata: SourceMetadata, notes: list[str]) -> list[dict[str, Any]]:
    """A pulled release's DataCite relations as the source's records stand now; a note when it is obsoleted."""
    if not pin.tier:
        return []
    from ..release.relations import obsoleted_by, of_release

    found = of_release(metadata.records, metadata.releases, pin.trial, pin.version, pin.tier, pin.issue)
    if newer := obsoleted_by(found):
        notes.append(f"obsoleted by {newer} (DataCite IsObsoletedBy)")
    return found


def check_pin(pin: Pin, metadata: SourceMetadata, source: str, directory: Path) -> None:
    """The pinned version (or release) must be one the source still has, with the same fingerprint."""
    if pin.tier:
        _check_release_pin(pin, metadata, source, directory)
        return
    label = f"{pin.trial}@{pin.version}"
    pinned = next((r for r in metadata.records if r.version == pin.version), None)
    if pinned is None:
        raise NotFound(f"{source} has no {label}, the version pinned in {directory} (latest is "
                       f"{metadata.records[-1].version}): was the source rewritten, or is it another repository?")
    if pinned.fingerprint != pin.fingerprint:
        raise IntegrityError(f"{directory} pins {label} with fingerprint {pin.fingerprint}, but {source} records "
                             f"{pinned.fingerprint}: the copy was not pulled from this source")


def _check_release_pin(pin: Pin, metadata: SourceMetadata, source: str, directory: Path) -> None:
    label = pin.label
    pinned = next((r for r in metadata.releases if r.version == pin.version and r.issue == pin.issue), None)
    if pinned is None:
        raise NotFound(f"{source} has no {label}, the release pinned in {directory}: was the source rewritten, "
                       "or is it another repository?")
    if pinned.fingerprint != pin.fingerprint:
        raise IntegrityError(f"{directory} pins {label} with fingerprint {pin.fingerprint}, but {source} records "
                             f"{pinned.fingerprint}: the copy was not pulled from this source")


def read_source(source: str, trial: str, tier: str | None = None) -> SourceMetadata:
    """A plain path is read in place; a URL through git (and DVC), at its current head."""
    if is_local(source) and not source.startswith("file:"):
        metadata = _read_local(Path(source).expanduser(), source, trial)
        if tier:
            metadata.releases.extend(releases(Path(source).expanduser().resolve(), trial, tier))
        return metadata
    return _read_remote(source, trial, tier)


def _read_local(path: Path, source: str, trial: str) -> SourceMetadata:
    from ..repository import Repository

    if not (path / layout.SETTINGS).is_file():
        raise NotARepository(f"{source} is not an ipd repository (no {layout.SETTINGS})")
    repository = Repository(path.resolve())
    records = repository.dataset(trial).records()
    if not records:
        raise NotFound(f"{source} has no trial {trial!r}")
    return SourceMetadata(records, correctionlog.read(repository.root / layout.trial(trial).log))


def _read_remote(url: str, trial: str, tier: str | None = None) -> SourceMetadata:
    files = layout.trial(trial)
    folder, log, shelf = files.versions, files.log, files.releases
    with RemoteRepository(url, None) as remote:
        if not remote.exists(folder):
            raise NotFound(f"{url} has no trial {trial!r}")
        names = [n for n in remote.listdir(folder) if n.startswith("v") and n.endswith(".json")]
        records = sorted((VersionRecord.from_json(remote.read_text(f"{folder}/{n}")) for n in names),
                         key=lambda r: r.number)
        text = remote.read_text(log) if remote.exists(log) else ""
        found = [n for n in (remote.listdir(shelf) if tier and remote.exists(shelf) else [])
                 if (named := parse_name(n)) and named[1] == tier]
        released = sorted((ReleaseRecord.from_json(remote.read_text(f"{shelf}/{n}")) for n in found),
                          key=lambda r: r.order)
    if not records:
        raise NotFound(f"{url} has no trial {trial!r}")
    return SourceMetadata(records, correctionlog.parse(text, f"{log} at {url}"), released)


@dataclass
class _Record:
    """One participant's record across the entries: whether it existed at the pin and exists now, and values."""

    existed: bool
    exists: bool
    before: dict[str, Any] = field(default_factory=dict)  # column -> value at the pin (first old seen)
    after: dict[str, Any] = field(default_factory=dict)  # column -> value now (last new seen)


def _net_changes(entries: list[Correction]) -> tuple[int, int, int, list[str]]:
    """Cells changed, records added, records removed, columns added: the net effect of the entries, in order."""
    records: dict[Any, _Record] = {}
    columns: list[str] = []
    for entry in entries:
        if entry.action == "add_column":
            columns += [entry.column] if entry.column not in columns else []
            continue
        record = records.setdefault(_hashable(entry.key), _Record(entry.action != "add", entry.action != "add"))
        if entry.action == "update":
            record.before.setdefault(entry.column, entry.old)
            record.after[entry.column] = entry.new
        elif entry.action == "remove":
            for column, value in (entry.old or {}).items():
                record.before.setdefault(column, value)
            record.exists = False
        else:  # add: the whole record, replacing whatever was removed before it
            record.exists, record.after = True, dict(entry.new or {})
    cells = sum(
        1
        for r in records.values() if r.existed and r.exists
        for column in r.before.keys() & r.after.keys()
        if column not in columns and not values.same(r.before[column], r.after[column])
    )
    added = sum(1 for r in records.values() if r.exists and not r.existed)
    removed = sum(1 for r in records.values() if r.existed and not r.exists)
    return cells, added, removed, columns


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key
