"""Release notes: what changed in the released values from one release of a tier to the next.

Requestors hold releases, not versions, so the notes compare the two
packages' rows by release ID, never the versions behind them: a correction
the release hides (an age above the top code moved to another age above it)
or a column the release deletes changes nothing a requestor sees, and is not
mentioned. The correction log's reasons are restricted (they may quote
identifiers); only the wording a curator gave as ``public_reason`` is ever
attached, and only to a change the released rows actually show.

``compare`` works on two Arrow tables alone (the catalogue can call it on any
two packages); ``notes`` finds the previous release of the tier, reads both
packages and attaches the reasons. The core never prints: ``to_markdown`` and
``to_json`` are what the catalogue publishes and the CLI shows.

A reissue (``release.record``: issue K of the same version and tier) is
compared with the issue before it; its headline says it is a reissue, and why.
No correction lies between two issues of one version, so no reason is attached.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from ..backends import parquet, storage
from ..backends.hashing import sha256_of
from ..backends.sql import connect, translated
from ..backends.values import to_json
from ..errors import IntegrityError, InvalidInput, NotFound
from ..repository import Repository, layout
from ..repository.refs import version_number
from . import package
from .deidentify import RELEASE_ID
from .record import ReleaseRecord, before, latest_issue, records
from .rules import TIERS

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection

CELL, RECORD_ADDED, RECORD_REMOVED, COLUMN_ADDED, COLUMN_REMOVED = (
    "cell", "record_added", "record_removed", "column_added", "column_removed")
ORDER = {COLUMN_ADDED: 0, COLUMN_REMOVED: 1, RECORD_REMOVED: 2, RECORD_ADDED: 3, CELL: 4}
SHOWN = 50  # rows of the Markdown table; the JSON has them all


@dataclass(frozen=True)
class Change:
    """One change a requestor sees. ``old``/``new`` (cells only) as the release renders them, "" for missing."""

    change: str  # CELL, RECORD_ADDED, RECORD_REMOVED, COLUMN_ADDED, COLUMN_REMOVED
    release_id: str | None = None  # None for a column
    column: str | None = None  # None for a record
    old: str | None = None
    new: str | None = None
    reason: str | None = None  # a correction's public reason; None when none was given or none applies
    # Of a release of several rows a participant: the rest of the record's key ("enum=2"), and the other table
    # it is in (None: the trial's data); both left out of the JSON when None, so notes read as they did
    record: str | None = None
    table: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k not in ("record", "table")}

    def sort_key(self) -> tuple:
        return (self.table or "", ORDER[self.change], self.release_id or "", self.record or "", self.column or "")


# -- comparing two releases' rows -------------------------------------------------------------------

def compare(previous: pa.Table | None, current: pa.Table, key: str | list[str] = RELEASE_ID,
            table: str | None = None) -> list[Change]:
    """Records added and removed, cells changed and columns added or removed, sorted (``Change.sort_key``).

    Records are matched by ``key`` (the release ID, then the rest of a record's key where a participant has
    several) in one DuckDB join; only the changed cells are rendered (as Arrow
    writes them as text, which is how the package's CSV shows them). A column whose type differs
    between the two is compared as that text, so 3 stored as an integer and as a float is no change.
    Without ``previous``, every record and column is added. ``table``: the other table of the trial compared.
    """
    keys = [key] if isinstance(key, str) else list(key)
    _check_key(current, keys, "the current release")
    if previous is None:
        changes = [Change(COLUMN_ADDED, column=c, table=table) for c in current.column_names if c not in keys]
        changes += [Change(RECORD_ADDED, **_who(k, keys), table=table) for k in _rendered(_joined(current, keys))]
        return sorted(changes, key=Change.sort_key)
    _check_key(previous, keys, "the previous release")
    changes = [Change(COLUMN_ADDED, column=c, table=table) for c in current.column_names
               if c not in previous.column_names]
    changes += [Change(COLUMN_REMOVED, column=c, table=table) for c in previous.column_names
                if c not in current.column_names]
    common = [c for c in current.column_names if c in previous.column_names and c not in keys]
    old, new = _sides(previous, current, keys, common)
    con = connect(progress_bar=False)
    con.register("o", old)
    con.register("n", new)
    with translated("comparing the releases"):
        _check_unique(con, "o", keys, "the previous release")
        _check_unique(con, "n", keys, "the current release")
        for alias, other, kind in (("o", "n", RECORD_REMOVED), ("n", "o", RECORD_ADDED)):
            found = con.sql(f"SELECT {alias}.k FROM {alias} ANTI JOIN {other} ON {alias}.k = {other}.k")
            changes += [Change(kind, **_who(k, keys), table=table)
                        for k in _rendered(found.to_arrow_table()["k"])]
        if common:
            flags = ", ".join(f"o.c{i} IS DISTINCT FROM n.c{i} AS d{i}" for i in range(len(common)))
            rows = con.sql(f"SELECT * FROM (SELECT o.r AS o_row, n.r AS n_row, {flags} FROM o JOIN n ON o.k = n.k) "
                           f"WHERE {' OR '.join(f'd{i}' for i in range(len(common)))}").to_arrow_table()
            changes += _cells(rows.combine_chunks(), old, new, common, keys, table)
    return sorted(changes, key=Change.sort_key)


def _check_key(table: pa.Table, keys: list[str], what: str) -> None:
    for key in keys:
        if key not in table.column_names:
            raise InvalidInput(f"{what} has no column {key!r} to match records by")


def _check_unique(con: Connection, alias: str, keys: list[str], what: str) -> None:
    [(unique,)] = con.sql(f"SELECT count(DISTINCT k) = count(*) FROM {alias}").fetchall()
    if not unique:
        raise InvalidInput(f"{', '.join(keys)} of {what} is missing or repeated in some rows: records cannot be "
                           "matched")


KEY_SEPARATOR = "\x1f"


def _joined(table: pa.Table, keys: list[str]) -> pa.Array | pa.ChunkedArray:
    """The key of each record: the release ID itself, or (with more columns) their texts joined."""
    import pyarrow.compute as pc

    if len(keys) == 1:
        return table[keys[0]]
    return pc.binary_join_element_wise(*(pc.fill_null(_as_text(table[k]), "") for k in keys), KEY_SEPARATOR)


def _who(key: str, keys: list[str]) -> dict[str, str | None]:
    """A record's release ID and the rest of its key (``record``), from ``_joined``'s text."""
    if len(keys) == 1:
        return {"release_id": key}
    values = key.split(KEY_SEPARATOR)
    return {"release_id": values[0], "record": ", ".join(f"{k}={v}" for k, v in zip(keys[1:], values[1:]))}


def _sides(previous: pa.Table, current: pa.Table, keys: list[str], common: list[str]) -> tuple[pa.Table, pa.Table]:
    """Both tables as k (the key), r (the row), c0, c1, … (the common columns): any column name is safe in SQL.
    Where the types differ, both sides are text."""
    import numpy as np
    import pyarrow as pa

    def side(table: pa.Table, other: pa.Table) -> pa.Table:
        key = _joined(table, keys)
        columns = {"k": _as_text(key) if key.type != _joined(other, keys).type else key,
                   "r": pa.array(np.arange(table.num_rows, dtype=np.int64))}
        for i, name in enumerate(common):
            differs = table.schema.field(name).type != other.schema.field(name).type
            columns[f"c{i}"] = _as_text(table[name]) if differs else table[name]
        return pa.table(columns)

    return side(previous, current), side(current, previous)


def _cells(rows: pa.Table, old: pa.Table, new: pa.Table, common: list[str], keys: list[str],
           table: str | None) -> list[Change]:
    import numpy as np

    found = []
    o_rows, n_rows = rows["o_row"].to_numpy(), rows["n_row"].to_numpy()
    for i, column in enumerate(common):
        at = np.flatnonzero(rows[f"d{i}"].to_numpy())
        if not len(at):
            continue
        who = [_who(k, keys) for k in _rendered(new["k"].take(n_rows[at]))]
        before = _rendered(old[f"c{i}"].take(o_rows[at]))
        after = _rendered(new[f"c{i}"].take(n_rows[at]))
        found += [Change(CELL, column=column, old=a, new=b, table=table, **w) for w, a, b in zip(who, before, after)]
    return found


def _as_text(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Values as the release writes them as text (pyarrow's CSV writer casts the same way)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    try:
        return pc.cast(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a type Arrow cannot cast: Python's own text
        return pa.array([None if v is None else str(to_json(v)) for v in values.to_pylist()], pa.string())


def _rendered(values: pa.ChunkedArray | pa.Array) -> list[str]:
    return ["" if v is None else v for v in _as_text(values).to_pylist()]


# -- the reasons a curator made publishable -----------------------------------------------------------

def publishable_reasons(repo: Repository, trial: str, since_version: str | None, version: str,
                        release_ids: dict) -> dict:
    """The ``public_reason`` of each correction applied after ``since_version`` up to ``version``, crediting a
    finding a release holder proposed (``corrections.proposals``).

    Keyed by (release ID, column) for an updated cell, by release ID for a record removed or
    added, and by (None, column) for a variable added; ``release_ids`` maps the trial's own keys
    to release IDs. Several reasons for one key are joined in log order. A correction without a
    public reason, or of a participant without a release ID, gives nothing.
    """
    from ..corrections import log as correctionlog
    from ..corrections.queries import by_id

    proposed = {qid for qid, q in by_id(repo, trial).items() if q.origin}  # found by release holders
    low = version_number(since_version) if since_version else 0
    high = version_number(version)
    by_key = {_key(k): rid for k, rid in release_ids.items()}
    keys = _log_keys(repo, trial)
    found: dict[Any, list[str]] = {}
    for entry in correctionlog.read(repo.root / layout.trial(trial).log):
        if not entry.public_reason or not entry.version or not low < version_number(entry.version) <= high:
            continue
        columns, participant = keys.get(entry.table or "", ([], None))
        if entry.action == "add_column":
            target: Any = (None, entry.column) if not entry.table else (entry.table, None, None, entry.column)
        elif entry.table or len(columns) > 1:  # a record of several a participant: its table and whole key
            values = dict(zip(columns, entry.key if isinstance(entry.key, (list, tuple)) else [entry.key]))
            rid = by_key.get(_key(values.get(participant)))
            if rid is None:
                continue
            record = ", ".join(f"{k}={to_json(v)}" for k, v in values.items() if k != participant) or None
            target = (entry.table, rid, record) + ((entry.column,) if entry.action == "update" else ())
        else:
            rid = by_key.get(_key(entry.key))
            if rid is None:
                continue
            target = (rid, entry.column) if entry.action == "update" else rid
        reasons = found.setdefault(target, [])
        said = entry.public_reason + (f" (found by a data requestor, {entry.query})" if entry.query in proposed else "")
        if said not in reasons:
            reasons.append(said)
    return {target: "; ".join(reasons) for target, reasons in found.items()}


def _key(key: Any) -> str:
    """A participant key as the log holds it (a date as ISO text), so the linkage's and the log's agree."""
    return json.dumps(to_json(key), sort_keys=True)


def _log_keys(repo: Repository, trial: str) -> dict[str, tuple[list[str], str | None]]:
    """Per table ("": the participant table, or the trial's one table) its key columns and participant column."""
    from ..backends import rowkey
    from ..repository.metadata import participant_of

    metadata = repo.dataset(trial).metadata()
    return {name: (rowkey.columns(entry.get("key") or []), participant_of(entry.get("key"), entry.get("participant")))
            for name, entry in [("", metadata), *metadata.tables.items()]}


def _attached(changes: list[Change], reasons: dict) -> list[Change]:
    def reason(change: Change) -> str | None:
        if change.table or change.record:
            if change.change == CELL:
                return reasons.get((change.table, change.release_id, change.record, change.column))
            if change.change in (RECORD_ADDED, RECORD_REMOVED):
                return reasons.get((change.table, change.release_id, change.record))
            return reasons.get((change.table, None, None, change.column))
        if change.change == CELL:
            return reasons.get((change.release_id, change.column))
        if change.change in (RECORD_ADDED, RECORD_REMOVED):
            return reasons.get(change.release_id)
        if change.change == COLUMN_ADDED:
            return reasons.get((None, change.column))
        return None

    return [replace(c, reason=reason(c)) for c in changes]


# -- the notes ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseNotes:
    trial: str
    tier: str
    version: str
    previous: str | None  # the version of the tier's previous release; None for its first
    counts: dict[str, int]  # records, columns (of this release), cells_changed, records_added, ...
    changes: list[Change]  # sorted (Change.sort_key)
    issue: int = 1  # K >= 2: a reissue of the version's release, compared with issue K-1
    previous_issue: int = 1
    reissue_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        found = {"trial": self.trial, "tier": self.tier, "version": self.version, "previous": self.previous,
                 "first": self.previous is None, "headline": self.headline(),
                 "counts": dict(sorted(self.counts.items())),
                 "changes": [c.as_dict() for c in self.changes]}
        if self.issue > 1 or self.previous_issue > 1:  # notes of releases without issues read as they did
            found |= {"issue": self.issue, "previous_issue": self.previous_issue,
                      "reissue_reason": self.reissue_reason or None}
        return found

    def to_json(self) -> str:
        """The full notes: the same notes give the same text."""
        return json.dumps(self.as_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @property
    def since(self) -> str | None:
        """The previous release as the text names it: its version, and its issue after the first."""
        if self.previous is None:
            return None
        return self.previous + (f" issue {self.previous_issue}" if self.previous_issue > 1 else "")

    def headline(self) -> str:
        label = f"{self.trial} {self.version} ({self.tier}{f', issue {self.issue}' if self.issue > 1 else ''})"
        n = self.counts
        if self.previous is None:
            return (f"{label} — the first {self.tier} release of {self.trial}: {_count(n['records'], 'record')}, "
                    f"{_count(n['columns'], 'column')}")
        said = [f"{_count(n['cells_changed'], 'cell')} changed", f"{_count(n['records_added'], 'record')} added",
                f"{n['records_removed']} removed"]
        said += [f"{_count(n[k], 'column')} {k.split('_')[1]}" for k in ("columns_added", "columns_removed") if n[k]]
        if self.issue > 1:
            return (f"{label} — a reissue of {self.since} ({self.reissue_reason}); released values changed since: "
                    f"{', '.join(said)}")
        return f"{label} — changes since {self.since}: {', '.join(said)}"

    def to_markdown(self, shown: int = SHOWN) -> str:
        """A short text for people: the headline, then at most ``shown`` changes as a table."""
        lines = [f"# {_cell(self.headline())}", ""]
        if self.previous is not None and not self.changes:
            lines.append(f"No released value changed since {self.since}.")
        elif self.changes:
            lines += ["| release ID | column | was | now | reason |", "| --- | --- | --- | --- | --- |"]
            lines += ["| " + " | ".join(_cell(v) for v in _row(c)) + " |" for c in self.changes[:shown]]
            if len(self.changes) > shown:
                lines += ["", f"… and {len(self.changes) - shown} more changes, listed in the JSON release notes."]
        return "\n".join(lines).rstrip("\n") + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _row(change: Change) -> tuple[str, str, str, str, str]:
    reason = change.reason or ""
    who = f"{change.release_id or ''} ({change.record})" if change.record else change.release_id or ""
    column = f"{change.table}.{change.column}" if change.table and change.column else change.column or ""
    whole = f"(whole record of {change.table})" if change.table else "(whole record)"
    if change.change == CELL:
        return (who, column, change.old or "", change.new or "", reason)
    if change.change in (RECORD_ADDED, RECORD_REMOVED):
        return (who, whole, "", change.change.split("_")[1], reason)
    return (f"(every record of {change.table})" if change.table else "(every record)", column, "",
            f"column {change.change.split('_')[1]}", reason)


def _cell(text: str) -> str:
    """Text that stays in its Markdown table cell."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def notes(repo: Repository, trial: str, tier: str, version: str, release_ids: dict,
          issue: int | None = None) -> ReleaseNotes:
    """The notes of ``trial``'s ``tier`` release of ``version`` (its ``issue``; None: its latest), against the
    tier's previous release.

    ``release_ids`` maps the trial's keys to release IDs (the linkage: see ``linkage_ids``).
    """
    current, previous = releases(repo, trial, tier, version, issue)
    table = released_rows(repo, current)
    counts = {"records": table.num_rows, "columns": table.num_columns}
    reissue = {"issue": current.issue, "reissue_reason": current.reissue_reason}
    if previous is None:
        return ReleaseNotes(trial, tier, version, None, counts, [], **reissue)
    keys = record_keys(repo, current)
    changes = compare(released_rows(repo, previous), table, keys.get("", RELEASE_ID))
    for name in package.other_tables(trial, current.files):
        before = released_rows(repo, previous, name) if name in package.other_tables(trial, previous.files) else None
        changes += compare(before, released_rows(repo, current, name), keys.get(name, RELEASE_ID), name)
    changes = _attached(changes, publishable_reasons(repo, trial, previous.version, version, release_ids))
    for kind, name in ((CELL, "cells_changed"), (RECORD_ADDED, "records_added"), (RECORD_REMOVED, "records_removed"),
                       (COLUMN_ADDED, "columns_added"), (COLUMN_REMOVED, "columns_removed")):
        counts[name] = sum(c.change == kind for c in changes)
    return ReleaseNotes(trial, tier, version, previous.version, counts, changes, previous_issue=previous.issue,
                        **reissue)


def releases(repo: Repository, trial: str, tier: str, version: str | None,
             issue: int | None = None) -> tuple[ReleaseRecord, ReleaseRecord | None]:
    """The record of the ``tier`` release of ``version`` (None: the tier's latest; ``issue`` None: its latest
    issue), and of the release before it (by version, then issue)."""
    if tier not in TIERS:
        raise InvalidInput(f"unknown tier {tier!r}; choose {' or '.join(TIERS)}")
    repo.dataset(trial)  # an unknown trial is NotFound
    shelf = records(repo.root, trial, tier)
    if version is None and not shelf:
        raise NotFound(f"{trial} has no {tier} release")
    if version is None:
        current: ReleaseRecord | None = shelf[-1]
    elif issue is None:
        current = latest_issue(shelf, version, tier)
    else:
        current = next((r for r in shelf if r.version == version and r.issue == issue), None)
    if current is None:
        have = ", ".join(dict.fromkeys(r.version for r in shelf)) or "none"
        raise NotFound(f"{trial}@{version} has no {tier} release{f' issue {issue}' if issue else ''} (its {tier} "
                       f"releases: {have})")
    return current, before(shelf, current)


def record_keys(repo: Repository, release: ReleaseRecord) -> dict[str, list[str]]:
    """How the records of a release are matched, per table ("": the trial's data): by release ID, then the rest
    of the key where a participant has several records (as the version's dictionary gives it), as released."""
    from ..backends import rowkey
    from ..repository.metadata import participant_of

    metadata = repo.dataset(release.trial).metadata(at=release.version)
    found = {}
    for name, entry in [("", metadata), *metadata.tables.items()]:
        key = rowkey.columns(entry.get("key") or [])
        participant = participant_of(entry.get("key"), entry.get("participant"))
        if name or rowkey.composite(entry.get("key") or []) and not metadata.tables:
            found[name] = [RELEASE_ID, *(k for k in key if k != participant)]
    return found


def released_rows(repo: Repository, release: ReleaseRecord, table: str = "") -> pa.Table:
    """The package's Parquet rows (``table``: of another table of the trial), checked out from the release
    remote where the work tree lacks them, and checked against the release record (notes must describe what
    was released)."""
    folder = layout.trial(release.trial).release_package(release.name)
    name = package.data_names(release.trial, table)["parquet"]
    path = repo.root / folder / name
    if not path.is_file():
        remote = repo.settings.get("remotes", {}).get("release", storage.RELEASE_REMOTE)
        storage.materialize(repo.root, [folder], replace=True, remote=remote)
    if not path.is_file():
        raise IntegrityError(f"{folder}/{name} is in neither the work tree nor the release remote")
    if sha256_of(path) != release.files.get(name):
        raise IntegrityError(f"{folder}/{name} is not the file its release record names (its SHA-256 differs); "
                             "run `ipd verify`")
    return parquet.read(path)


def linkage_ids(repo: Repository, trial: str, tier: str, version: str) -> dict:
    """The trial's key -> release ID of the participants of the ``tier`` release of ``version`` and of the
    tier's release before it, from the linkage (restricted: the curator's side).

    The linkage maps the rules' ``participant_id`` column; where that is not the trial's key, the
    two versions' rows give the key of each. Release IDs are per tier: ``tier`` names the tier whose IDs
    are wanted.
    """
    from . import ids

    current, previous = releases(repo, trial, tier, version)
    linkage = ids.read(repo.root, trial)
    if linkage is None:
        return {}
    mapping = linkage.mapping(linkage.table["key"], tier)  # the tier's IDs (and legacy ones, serving every tier)
    dataset = repo.dataset(trial)
    key, pid = dataset.version(version).record.participant_column, current.participant_id
    if pid == key:
        return mapping
    found: dict = {}
    for name in [r.version for r in (previous, current) if r is not None]:
        rows = dataset.version(name).to_arrow([key, pid])
        found |= {k: mapping[p] for k, p in zip(rows[key].to_pylist(), rows[pid].to_pylist()) if p in mapping}
    return found
