"""Cutting a corrected version: apply what is staged to the current version.

Under the repository lock and inside one transaction: staged entries are
checked again against the current version (one whose old value has moved is
stale and refused); only the parts holding touched participants are
rewritten; the checks run on the result and are compared with the current
version's, refusing new failures unless the curator accepts them (which is
recorded); the diff against the parent must be exactly what the entries say;
then DVC stores and pushes the parts, the entries are appended to the log, and
the version record, dictionary and provenance are committed and tagged. If
anything fails or the command is killed, the repository is as it was and the
corrections are still staged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from .. import provenance
from ..backends import clock, formats, parquet, storage
from ..backends.sql import connect
from ..backends.storage import known
from ..errors import IntegrityError, InvalidInput
from ..progress import SILENT, Progress
from ..repository import Repository, layout
from ..repository.layout import TrialPaths
from ..repository.records import Version, VersionRecord
from ..repository.refs import tag_name, version_name
from ..versions.cut import cut
from . import log
from .log import Correction


@dataclass(frozen=True)
class CommitOptions:
    trial: str
    message: str
    accept_failures: str | None = None  # why the curator cuts the version despite new check failures


@dataclass
class CommitResult:
    record: VersionRecord
    applied: list[Correction]
    parts_rewritten: int
    fixed: list[str] = field(default_factory=list)
    new_failures: list[str] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)


def commit(repo: Repository, options: CommitOptions, progress: Progress = SILENT) -> CommitResult:
    trial = options.trial
    if not options.message.strip():
        raise InvalidInput("a version needs a message (--message)")
    dataset = repo.dataset(trial)
    _staged(repo, trial)
    storage.check_remote(repo.root)
    files = layout.trial(trial)
    paths = [files.folder, files.provenance, files.suite, files.table_suites]
    if (store := storage.remote_path_in_tree(repo.root)) is not None:
        paths.append(store)
    with repo.writing(paths) as txn:
        staged = _staged(repo, trial)  # again under the lock: a correction staged meanwhile is committed, not lost
        parent = dataset.version()
        with progress.step(f"checking staged corrections against {trial}@{parent.record.version}"):
            for table in dict.fromkeys(e.table for e in staged):
                _check_stale(parent.table(table or ""), [e for e in staged if e.table == table])
        version = version_name(parent.record.number + 1)
        txn.will_tag(tag_name(trial, version))
        before = _check_before(repo, parent, progress)
        targets = _targets(files, staged)
        with progress.step("checking out the current data"):
            _check_out(repo, files, parent.record, targets)
        fast = targets == [files.data] and known.applies(repo.root)
        work_tree = known.hash_in_background(repo.root / files.data, _names(parent.record)) if fast else None
        from .rewrite import rewrite_parts

        with progress.step("rewriting the touched parts") as advance:
            rewritten = rewrite_parts(repo.root / files.folder, parent.record, parent.part_files(),
                                      [e for e in staged if e.table is None], advance)
            tables = _rewrite_tables(repo, parent, staged)
        now = clock.now()
        applied = _applied(repo, trial, staged, version, now)
        record = _record(repo, parent.record, rewritten, applied, version, now, options.message,
                         {name: t for name, (t, _) in tables.items()})
        _extend_suite(repo, trial, applied)
        with progress.step("checking the new version"):
            found = _assess(repo, options, before, record, rewritten, applied,
                            {name: files for name, (_, files) in tables.items()})
        with progress.step("storing and pushing the parts"):
            if work_tree is not None:
                _check_work_tree(repo, files, record, rewritten, work_tree.result())
                known.store(repo.root, files.data, _known(record))
            else:
                storage.store(repo.root, targets, check=lambda: _check_stored(repo, files, record))
            if files.source in targets:  # a supplied file joined the deliveries
                storage.make_private(repo.root, files.source)
        record = replace(record, changes=found.changes, override=found.override)
        _log(repo, trial, applied)
        cut(repo, record, found.metadata, paths, entries=applied, origins=_origins(repo, trial, applied))
    return CommitResult(record, applied, len(rewritten.parts), *found.outcome)


def _staged(repo: Repository, trial: str) -> list[Correction]:
    staged = log.read(repo.root / layout.trial(trial).staged)
    if not staged:
        raise InvalidInput(f"nothing staged for {trial}: stage corrections with `ipd correct {trial} …` first")
    return staged


@dataclass(frozen=True)
class Assessment:
    metadata: dict[str, Any]
    outcome: tuple[list[str], list[str], list[str]]  # fixed, newly failing, still failing
    override: dict[str, Any] | None
    changes: dict[str, Any]


def _assess(repo: Repository, options: CommitOptions, before, record: VersionRecord,
            rewritten, applied: list[Correction], table_files: dict) -> Assessment:
    """The new version's dictionary, its checks against the parent's (refusing new failures unless
    accepted) and what it changes."""
    metadata = _metadata(repo, record.trial, rewritten, applied, table_files)
    outcome = _compare_checks(repo, before, record, rewritten.files, metadata, applied, SILENT, table_files)
    override = _override(repo, options, outcome[1])
    return Assessment(metadata, outcome, override, _changes(applied))


def _targets(files: TrialPaths, staged: list[Correction]) -> list[str]:
    """What DVC stores anew: the parts (and the other tables', when corrected), and the deliveries when a
    supplied file joins them."""
    supplied = any(e.action == "add_column" for e in staged)
    tables = any(e.table for e in staged)
    return [files.data, *([files.tables] if tables else []), *([files.source] if supplied else [])]


def _rewrite_tables(repo: Repository, parent: Version, staged: list[Correction]) -> dict:
    """Each other table the entries correct, rewritten under ``tables/NAME/``: name -> (its record, its files)."""
    from .rewrite import rewrite_parts

    files = layout.trial(parent.record.trial)
    found = {}
    for table in parent.record.tables:
        entries = [e for e in staged if e.table == table.name]
        if not entries:
            continue
        view = parent.table(table.name)
        done = rewrite_parts(repo.root / files.folder, view.record, view.part_files(), entries,
                             data=repo.root / files.table_data(table.name))
        found[table.name] = (replace(table, rows=done.rows, fingerprint=done.fingerprint, parts=list(done.parts_all),
                                     columns=done.schema.names), done.files)
    return found


def _check_out(repo: Repository, files: TrialPaths, parent: VersionRecord, targets: list[str]) -> None:
    """The work tree must hold every part of the parent (a clone holds none), and the
    deliveries when DVC is to store them again; what is already there is not fetched again."""
    data = repo.root / files.data
    present = {p.name: p.stat().st_size for p in data.glob("*.parquet")} if data.is_dir() else {}
    if present != {p.name: p.size for p in parent.parts}:
        storage.materialize(repo.root, [files.data], replace=True)
    if files.tables in targets:  # its other tables, each as the parent has it
        folder = repo.root / files.tables
        present = {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*.parquet")} \
            if folder.is_dir() else {}
        if present != {f"{t.name}/{p.name}": p.size for t in parent.tables for p in t.parts}:
            storage.materialize(repo.root, [files.tables], replace=True)
    storage.materialize(repo.root, [t for t in targets if t not in (files.data, files.tables)])


def _check_stored(repo: Repository, files: TrialPaths, record: VersionRecord) -> None:
    """What DVC stored must be exactly the new version's parts (a part edited by hand would not be)."""
    stored = storage.directory_listing(repo.root, files.data)
    expected = {part.name: part.md5 for part in record.parts}
    for name in sorted(set(stored) | set(expected)):
        if stored.get(name) != expected.get(name):
            _refuse_work_tree(files, name, record)


def _names(record: VersionRecord) -> list[str]:
    return [part.name for part in record.parts]


def _check_work_tree(repo: Repository, files: TrialPaths, record: VersionRecord, rewritten,
                     hashed: dict[str, str | None]) -> None:
    """The work tree must hold exactly the new version's parts: those not rewritten as the
    parent's record says (hashed while the commit worked), and nothing else."""
    written = {part.name for part in rewritten.parts}
    present = {p.name for p in (repo.root / files.data).iterdir()}
    expected = {part.name: part.md5 for part in record.parts}
    for name in sorted(present | set(expected)):
        if name not in written and (name not in expected or hashed.get(name) != expected[name]):
            _refuse_work_tree(files, name, record)


def _refuse_work_tree(files: TrialPaths, name: str, record: VersionRecord) -> None:
    raise IntegrityError(f"{files.data}/{name} in the work tree is not what {record.trial}@{record.parent} "
                         f"and the corrections make it; delete {files.data} and run the command again")


def _known(record: VersionRecord) -> list[known.KnownFile]:
    return [known.KnownFile(part.name, part.md5, part.size) for part in record.parts]



def _check_stale(parent: Version, staged: list[Correction]) -> None:
    """Every staged entry must still fit the current version: its old value, its key, its column."""
    from ..versions.lookup import records

    record = parent.record
    files = parent.part_files()
    columns = parquet.read_schema(next(iter(files.values()))).names
    keys = [e.key for e in staged if e.action != "add_column"]
    current = records(files, record.key, record.participant_column, record.nparts, keys)
    label = f"{record.trial}@{record.version}"
    for entry in staged:
        problem = _staleness(entry, current, columns)
        if problem:
            raise InvalidInput(f"{entry.id} is stale: in {label} {problem}; drop it "
                               f"(ipd correct {record.trial} --drop {entry.id}) and stage it again")


def _staleness(entry: Correction, current: dict[Any, dict[str, Any]], columns: list[str]) -> str | None:
    from ..backends.values import same

    if entry.action == "update":
        if entry.key not in current:
            return f"there is no record {entry.key!r}"
        now = current[entry.key].get(entry.column)
        return None if same(now, entry.old) else f"{entry.key!r}/{entry.column} is {now!r}, not {entry.old!r} as staged"
    if entry.action == "remove":
        if entry.key not in current:
            return f"there is no record {entry.key!r}"
        return None if current[entry.key] == entry.old else f"record {entry.key!r} has changed since it was staged"
    if entry.action == "add":
        return f"record {entry.key!r} already exists" if entry.key in current else None
    return f"column {entry.column!r} already exists" if entry.column in columns else None


def _applied(repo: Repository, trial: str, staged: list[Correction], version: str, now: str) -> list[Correction]:
    """The staged entries as log entries (c1, c2, …), supplied files moved beside the deliveries."""
    folder = repo.root / layout.trial(trial).folder
    number = log.next_number(log.read(repo.root / layout.trial(trial).log), "c")
    applied = []
    for offset, entry in enumerate(staged):
        entry = entry.applied_as(number + offset, version, now)
        if entry.action == "add_column":
            name = entry.new["file"].split("/", 1)[1]
            target = folder / layout.correction_file(name)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(folder / layout.staged_file(name), target)
            entry = replace(entry, new={**entry.new, "file": layout.correction_file(name)})
        applied.append(entry)
    return applied


def _record(repo: Repository, parent: VersionRecord, rewritten, applied: list[Correction], version: str,
            now: str, message: str, tables: dict) -> VersionRecord:
    return VersionRecord(
        trial=parent.trial, version=version, created=now, author=str(repo.scm.identity()), message=message,
        kind="correction", parent=parent.version, rows=rewritten.rows, columns=rewritten.schema.names,
        fingerprint=rewritten.fingerprint, key=parent.key, participant=parent.participant, nparts=parent.nparts,
        parts=list(rewritten.parts_all),
        delivery=None, tool=provenance.tool(),
        corrections=[e.id for e in applied], reader=formats.READER,
        participant_table=parent.participant_table, tables=[tables.get(t.name, t) for t in parent.tables],
    )


def _metadata(repo: Repository, trial: str, rewritten, applied: list[Correction],
              tables: dict[str, list]) -> dict[str, Any]:
    """dataset.yaml with the dictionaries brought up to date for the columns the corrections touched: the
    participant table's, and those of the other tables corrected (``tables``: name -> its files now)."""
    from ..repository.datasets import load_metadata

    relative = layout.trial(trial).metadata
    metadata = load_metadata((repo.root / relative).read_text(), relative)
    mine = [e for e in applied if e.table is None]
    metadata["columns"] = _dictionary(metadata.get("columns", []), rewritten.files, rewritten.schema, mine)
    for name, files in tables.items():
        entry = metadata["tables"][name]
        entry["columns"] = _dictionary(entry.get("columns", []), files, parquet.read_schema(files[0]),
                                       [e for e in applied if e.table == name])
    return metadata


def _dictionary(columns: list[dict[str, Any]], files: list, schema, applied: list[Correction]) -> list[dict]:
    """A table's dictionary refreshed from its files for what ``applied`` touched (every column when whole
    records came or went)."""
    from ..ingest.columnstats import Columns
    from ..ingest.dictionary import describe, refresh

    whole_records = any(e.action in ("add", "remove") for e in applied)
    touched = None if whole_records else {e.column for e in applied if e.column}
    con = connect()
    con.sql("SELECT * FROM read_parquet($files)", params={"files": [str(p) for p in files]}).create_view("data")
    fresh = describe(Columns(con, "data"), schema, only=touched)
    for entry in fresh:
        adding = next((e for e in applied if e.action == "add_column" and e.column == entry["name"]), None)
        if adding:
            entry["note"] = f"supplied later by the trialists (correction {adding.id}: {adding.reason})"
    return refresh(columns, fresh, schema.names)


def _check_before(repo: Repository, parent: Version, progress: Progress):
    """The current version's check results, to tell what the corrections fix and break."""
    from ..checks.run import check
    from ..checks.suite import suite_path
    from ..repository.refs import Ref

    if not suite_path(repo.root, parent.record.trial).exists():
        return None
    return check(repo, Ref(parent.record.trial, parent.record.version), progress)


def _extend_suite(repo: Repository, trial: str, applied: list[Correction]) -> None:
    """A variable added by correction joins the expected set of columns of its table's suite."""
    from ..checks import suite as suites

    for table in dict.fromkeys(e.table for e in applied if e.action == "add_column"):
        added = [e.column for e in applied if e.action == "add_column" and e.table == table]
        path = suites.table_suite_path(repo.root, trial, table) if table else suites.suite_path(repo.root, trial)
        if not path.exists():
            continue
        suite = suites.load(path)
        for expectation in suite["expectations"]:
            if expectation["type"] == "expect_table_columns_to_match_set":
                names = expectation["kwargs"].get("column_set") or []
                expectation["kwargs"]["column_set"] = [*names, *(c for c in added if c not in names)]
        suites.save(path, suite)


def _compare_checks(repo: Repository, before, record: VersionRecord, files: list, metadata: dict[str, Any],
                    applied: list[Correction], progress: Progress,
                    table_files: dict) -> tuple[list[str], list[str], list[str]]:
    """Which checks the corrections fixed, which they newly fail, and which still fail.

    Only the checks that read a column the corrections touched run again; the rest keep
    the parent's result (the report is kept, so checking the new version later is free).
    """
    from ..checks.run import Target, keep, recheck, touched_by

    if before is None:
        return [], [], []
    from ..repository.records import Version

    tables = [(name, record.table(name), table_files.get(name) or Version(repo, record).table(name).files())
              for name in record.table_names[1:]]
    target = Target(record.trial, record.version, record.fingerprint, record.key, files, metadata, tables)
    after = recheck(repo, target, before, touched_by([e for e in applied if e.table is None]), progress)
    keep(repo, record, metadata, after)
    return compare(before.results, after.results)


def compare(before: list, after: list) -> tuple[list[str], list[str], list[str]]:
    """A check newly fails if it passed (or did not run) before, or if it now names a participant it did not."""
    was = {r.name: r for r in before}
    fixed, new, still = [], [], []
    for result in after:
        old = was.get(result.name)
        if result.success:
            if old is not None and not old.success:
                fixed.append(result.name)
        elif old is None or old.success or set(map(str, result.unexpected_keys)) - set(map(str, old.unexpected_keys)):
            new.append(result.name)
        else:
            still.append(result.name)
    return fixed, new, still


def _override(repo: Repository, options: CommitOptions, new_failures: list[str]) -> dict[str, Any] | None:
    if not new_failures:
        return None
    if not options.accept_failures:
        shown = "; ".join(new_failures[:5]) + ("; …" if len(new_failures) > 5 else "")
        raise InvalidInput(f"the corrections make {len(new_failures)} check(s) newly fail: {shown}. Fix the "
                           f"staged corrections, or cut the version anyway with --accept-failures REASON")
    return {"by": str(repo.scm.identity()), "reason": options.accept_failures, "new_failures": new_failures}


def _changes(applied: list[Correction]) -> dict[str, Any]:
    """What the version changes against its parent, as its entries say.

    The rows were rewritten from exactly these entries, after each was checked against
    the parent; ``ipd validate`` derives every corrected version's diff from the data
    again and fails where it and the log disagree.
    """
    def counts(entries: list[Correction]) -> dict[str, Any]:
        def count(action: str) -> int:
            return sum(e.action == action for e in entries)

        return {"cells": count("update"), "added": count("add"), "removed": count("remove"),
                "columns_added": [e.column for e in entries if e.action == "add_column"], "columns_removed": []}

    found = counts([e for e in applied if e.table is None])
    tables = sorted({e.table for e in applied if e.table})
    if tables:
        found["tables"] = {name: counts([e for e in applied if e.table == name]) for name in tables}
    return found


def _log(repo: Repository, trial: str, applied: list[Correction]) -> None:
    """The applied entries join the correction log; the staging area is emptied."""
    files = layout.trial(trial)
    log.append(repo.root / files.log, applied)
    (repo.root / files.staged).unlink()
    staged_files = repo.root / files.staged_files
    if staged_files.is_dir() and not any(staged_files.iterdir()):
        staged_files.rmdir()


def _origins(repo: Repository, trial: str, applied: list[Correction]) -> dict[str, dict]:
    """The queries release holders proposed that the applied entries answer: query id -> its origin."""
    from .queries import by_id

    named = {e.query for e in applied if e.query}
    if not named:
        return {}
    return {qid: q.origin for qid, q in by_id(repo, trial).items() if qid in named and q.origin}
