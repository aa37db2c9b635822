"""The correction log only grows: every version's commit holds a prefix of it.

Entries are never edited (a reversal is a new entry), so the log a version's
commit added its entries to must still begin today's log line for line. An
edited or deleted entry is named by id and line. Each version's entries must
be in the log with that version, and where its PROV record carries
``ipd:entriesSha256``, their lines must hash to it.
"""

from __future__ import annotations

import json

from ..corrections import log
from ..repository import Repository, layout
from ..repository.records import VersionRecord
from .history import attribute, load


def check(repo: Repository, trial: str, records: list[VersionRecord], added: dict[str, str], result) -> None:
    label = layout.trial(trial).log
    path = repo.root / label
    now = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else []
    for record in records:
        commit = added.get(layout.trial(trial).version_record(record.version))
        if record.kind != "correction" or commit is None:
            continue
        then = (repo.scm.blob(commit, label) or b"").decode("utf-8", errors="replace").splitlines()
        _prefix(label, record.version, then, now, result)
    _entries_only(label, now, {r.version for r in records}, result)
    by_id = {_id(line): (number, line) for number, line in enumerate(now, start=1)}
    for record in records:
        _named(label, record, by_id, now, result)
        if record.corrections:
            _hashed(repo, label, record, by_id, result)


def _id(line: str) -> str:
    try:
        return str(json.loads(line).get("id"))
    except (ValueError, AttributeError):
        return "?"


def _version_of(line: str) -> str | None:
    try:
        return json.loads(line).get("version")
    except (ValueError, AttributeError):
        return None


def _entries_only(label: str, now: list[str], versions: set[str], result) -> None:
    """Only ``ipd commit`` appends to the log, always with the version it cuts: any other line was put there."""
    for number, line in enumerate(now, start=1):
        version = _version_of(line)
        if _id(line) in ("?", "None") or version is None:
            result.add(f"line {number} of {label}", "is not an entry of the correction log")
        elif version not in versions:
            result.add(f"entry {_id(line)} of {label} (line {number})",
                       f"says version {version} applied it, but there is no such version")


def _prefix(label: str, version: str, then: list[str], now: list[str], result) -> None:
    for number, line in enumerate(then, start=1):
        if number > len(now):
            result.add(f"entry {_id(line)} of {label} (line {number})",
                       f"was deleted (the commit of {version} holds it)")
        elif now[number - 1] != line:
            result.add(f"entry {_id(line)} of {label} (line {number})",
                       f"was edited: it differs from the entry the commit of {version} holds")


def _named(label: str, record: VersionRecord, by_id: dict, now: list[str], result) -> None:
    """The entries a version record names are in the log with that version, and no others are."""
    named = layout.trial(record.trial).version_record(record.version)
    for entry_id in record.corrections:
        if entry_id not in by_id:
            result.add(f"entry {entry_id} of {label}", f"is missing, but {named} applied it")
            continue
        number, line = by_id[entry_id]
        if (version := _version_of(line)) != record.version:
            result.add(f"entry {entry_id} of {label} (line {number})",
                       f"says version {version}, but {named} applied it")
    for number, line in enumerate(now, start=1):
        if _version_of(line) == record.version and _id(line) not in record.corrections:
            result.add(f"entry {_id(line)} of {label} (line {number})",
                       f"says version {record.version} applied it, but {named} does not name it")


def _hashed(repo: Repository, label: str, record: VersionRecord, by_id: dict, result) -> None:
    """Where the PROV record carries ``ipd:entriesSha256`` (``correctionlog.entries_sha256``), the lines match it."""
    rel = layout.trial(record.trial).provenance_record(record.version)
    doc = load(repo.root / rel)
    recorded = attribute(doc, f"ipd:{record.trial}/corrections.jsonl#{record.version}", "ipd:entriesSha256") \
        if doc is not None else None
    if recorded is None:
        return
    hashes = dict(item.split(":", 1) for item in recorded.split(",") if ":" in item)
    for entry_id, digest in hashes.items():
        found = by_id.get(entry_id)
        if found and log.line_sha256(found[1]) != digest:
            result.add(f"entry {entry_id} of {label} (line {found[0]})",
                       f"does not hash to the ipd:entriesSha256 of {rel}")
