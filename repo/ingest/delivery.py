"""Taking in a trial's delivery as its next version.

The delivery is read and checked before anything is written. Then, under the
repository lock and inside one transaction: the file is kept byte-for-byte
under ``source/vN/``, the rows are written as Parquet parts, DVC stores and
pushes both, and ``dataset.yaml``, the version record and the provenance
record are committed and tagged. Data reach the remote before the commit that
refers to them, so a pushed commit never points at missing bytes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import provenance
from ..backends import clock, formats, rowkey, storage
from ..backends.hashing import sha256_of_delivery, size_of_delivery
from ..backends.rowkey import Key
from ..backends.tables import read_tables
from ..checks import suite as suites
from ..checks.results import CheckResult
from ..checks.run import check
from ..errors import InvalidInput
from ..progress import SILENT, Progress
from ..repository import Repository, layout
from ..repository.datasets import load_metadata
from ..repository.metadata import Metadata, participant_of, role_columns
from ..repository.records import TableRecord, VersionRecord
from ..repository.refs import Ref, check_trial_name, tag_name, version_name
from ..versions.cut import cut, written
from ..versions.parts import parts_for, write_parts
from . import dictionary, tables
from .keys import check_key


@dataclass(frozen=True)
class IngestOptions:
    trial: str
    file: Path
    key: Key | None  # a column, or the columns that together pick a row
    arm: str | None = None
    randomised: str | None = None
    message: str | None = None
    origin: str | None = None  # where the delivery came from, in words or as a URL
    participant: str | None = None  # the participant column of a composite key
    participant_table: str | None = None  # of a delivery of several tables, the one of one row a participant
    table_keys: dict[str, Key] = field(default_factory=dict)  # the other tables' keys, by table
    # A topic's pooled rows (``topics.build``): roles beyond arm and randomisation, the trial versions and
    # mappings they were pooled from, and the suite from the topic's dictionary (written whatever is there)
    roles: dict[str, Any] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    suite: dict[str, Any] | None = None
    described: dict[str, str] = field(default_factory=dict)  # title and notes, where dataset.yaml has none yet


@dataclass(frozen=True)
class IngestResult:
    record: VersionRecord
    redelivery: bool
    failing: list[CheckResult] = field(default_factory=list)  # the checks the version cut fails
    participants: int | None = None  # how many, when a participant has several rows


def _check_roles(options: IngestOptions, previous: Metadata | None,
                 columns: list[str]) -> dict[str, str]:
    """The roles of columns, as given now or kept from earlier deliveries; each must name a column."""
    given = {role: column for role, column in
             {"arm": options.arm, "randomised": options.randomised, **options.roles}.items() if column}
    roles = {**((previous.get("roles") or {}) if previous else {}), **given}  # as written: a status keeps its codes
    for role, named in role_columns(roles).items():
        for column in named if isinstance(named, list) else [named]:  # baseline and events list columns
            if column not in columns:
                raise InvalidInput(f"{options.file}: no {role} column {column!r}; the columns are {', '.join(columns)}")
    return roles


def ingest(repo: Repository, options: IngestOptions, progress: Progress = SILENT) -> IngestResult:
    trial = check_trial_name(options.trial)
    with progress.step(f"reading {options.file.name}"):
        deliveries = read_tables(options.file, formats.READER)
    storage.check_remote(repo.root)
    files = layout.trial(trial)
    paths = [files.folder, files.provenance, files.suite, files.table_suites]
    if (store := storage.remote_path_in_tree(repo.root)) is not None:
        paths.append(store)
    with repo.writing(paths) as txn:  # the next version number is only known under the lock
        previous = _previous_metadata(repo, trial)
        main, delivery, others = tables.participant_table(deliveries, options.file, options.participant_table,
                                                          previous)
        deliveries = None
        key, participant = _key(trial, options, previous)
        if others and rowkey.composite(key):
            raise InvalidInput(f"{options.file}: the participant table {main} has one row a participant: key it by "
                               f"the participant column alone, not {rowkey.label(key)}")
        check_key(delivery.table, key, f"{options.file} (table {main})" if others else str(options.file))
        table_keys = tables.keys(others, options.table_keys, previous, options.file, participant)
        roles = _check_roles(options, previous, delivery.table.column_names)
        parent = repo.dataset(trial).latest() if previous else None
        version = version_name(parent.number + 1 if parent else 1)
        txn.will_tag(tag_name(trial, version))

        if previous and previous.parts is None:
            raise InvalidInput(f"{layout.trial(trial).metadata}: partitioning.parts is missing: it was fixed at the "
                               "first delivery (see the version records' nparts)")
        nparts = previous.parts if previous else parts_for(delivery.table.num_rows)
        if previous:  # a clone may lack earlier deliveries; DVC must store source/ with all of them
            storage.materialize(repo.root, [files.source])
        source = _keep_source(repo, trial, version, options.file)
        parts, table_records = _write_data(repo, trial, delivery, key, participant, nparts, progress,
                                           lambda: tables.write(repo, trial, others, table_keys, participant, previous))
        record = VersionRecord(
            trial=trial, version=version, created=clock.now(), author=str(repo.scm.identity()),
            message=options.message or f"{'Re-delivery' if parent else 'Delivery'} {options.file.name}",
            kind="pooled" if options.sources else "redelivery" if parent else "delivery",
            parent=parent.version if parent else None,
            columns=delivery.table.column_names, key=key, nparts=nparts, **written(delivery.table.schema, parts),
            participant=participant if rowkey.composite(key) else None,
            delivery={**source, "format": delivery.format, **({"origin": options.origin} if options.origin else {})},
            tool=provenance.tool(), reader=formats.READER, participant_table=main if others else None,
            tables=table_records, sources=list(options.sources),
        )
        if parent and record.identity == parent.identity:
            raise InvalidInput(f"{options.file}: the same rows as {trial}@{parent.version} (fingerprint "
                               f"{record.fingerprint.removeprefix('sha256:')[:12]}): nothing new to ingest")
        if parent:
            record = replace(record, changes=_changes(repo, parent, record))
        metadata = _metadata(trial, options, roles, nparts, delivery, previous, record)
        if others:
            metadata["participant_table"] = main
            metadata["tables"] = tables.entries(others, table_records, previous)
        participants = _participants(delivery.table, key, participant)
        delivery = others = None  # the rows are in the parts now: the checks below read them from there
        suite_path = suites.suite_path(repo.root, trial)
        if options.suite is not None:  # a topic's, from its dictionary
            suites.save(suite_path, options.suite)
        elif not suite_path.exists():  # a curated suite is never overwritten by a re-delivery
            suites.save(suite_path, suites.baseline(trial, metadata, version))
        for name, entry in metadata.tables.items():
            path = repo.root / files.table_suite(name)
            if not path.exists():
                suites.save(path, suites.baseline(f"{trial}/{name}", tables.suite_metadata(entry), version))
        cut(repo, record, metadata, paths)
    report = check(repo, Ref(trial, version))  # kept when the version was cut: read, not run again
    return IngestResult(record, redelivery=parent is not None, participants=participants,
                        failing=[r for r in report.results if not r.success])


def _participants(table, key: Key, participant: str) -> int | None:
    import pyarrow.compute as pc

    return pc.count_distinct(table.column(participant)).as_py() if rowkey.composite(key) else None


def _key(trial: str, options: IngestOptions, previous: Metadata | None) -> tuple[Key, str]:
    """The key and participant column: as given now, or kept from earlier deliveries."""
    key = options.key or (previous.key if previous else None)
    if key is None:
        raise InvalidInput(f"{trial} is a new trial: name its participant key column with --key")
    key = rowkey.written(rowkey.columns(key))
    participant = options.participant or (previous.get("participant") if previous and not options.key else None)
    participant = participant_of(key, participant)
    if participant is None:
        raise InvalidInput(f"{options.file}: key {rowkey.label(key)} has several columns: name the one that is "
                           f"the participant's with --participant")
    if participant not in rowkey.columns(key):
        raise InvalidInput(f"{options.file}: the participant column {participant!r} is not one of the key's "
                           f"columns {rowkey.label(key)}")
    return key, participant


def _changes(repo: Repository, parent: VersionRecord, record: VersionRecord) -> dict:
    """What the re-delivery changed against the version it replaces: requestors are told."""
    from ..versions.diff import diff_parts

    files = layout.trial(record.trial)
    before = repo.dataset(record.trial).version(parent.version)
    counts = diff_parts(parent, before.part_files(), record,
                        {p.name: repo.root / files.data / p.name for p in record.parts}).counts()
    kept = [t.name for t in record.tables if t.name in parent.table_names]
    if kept:
        counts["tables"] = {name: diff_parts(
            parent.table(name), before.table(name).part_files(), record.table(name),
            {p.name: repo.root / files.table_data(name) / p.name for p in record.table(name).parts}).counts()
            for name in kept}
    return counts



def _previous_metadata(repo: Repository, trial: str) -> Metadata | None:
    relative = layout.trial(trial).metadata
    path = repo.root / relative
    return load_metadata(path.read_text(), relative) if path.exists() else None


def _keep_source(repo: Repository, trial: str, version: str, file: Path) -> dict:
    """Copy the delivery byte-for-byte under ``source/vN/`` (a folder with all its files); returns what the
    record says of it."""
    relative = layout.delivery(version, file.name)
    target = repo.root / layout.trial(trial).file(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    if file.is_dir():
        shutil.copytree(file, target)
    else:
        shutil.copyfile(file, target)
    return {"file": relative, "original_name": file.name, "sha256": sha256_of_delivery(target),
            "size": size_of_delivery(target)}


def _write_data(repo: Repository, trial: str, delivery: formats.Delivery, key: Key, participant: str,
                nparts: int, progress: Progress, write_tables: Callable[[], list[TableRecord]]) -> tuple[list, list]:
    """Replace the trial's Parquet parts (and its other tables'), then store sources and parts in DVC and
    push them."""
    files = layout.trial(trial)
    shutil.rmtree(repo.root / files.data, ignore_errors=True)
    with progress.step("writing Parquet parts", total=nparts) as advance:
        parts = write_parts(delivery.table, key, participant, nparts, repo.root / files.data, advance)
    with progress.step("writing the other tables' parts"):
        table_records = write_tables()
    tracked = [files.source, files.data] + ([files.tables] if table_records else [])
    with progress.step("storing in the DVC cache"):
        storage.add(repo.root, tracked)
    with progress.step("pushing to the remote"):
        storage.push(repo.root, tracked)
    storage.make_private(repo.root, files.source)  # the deliveries as received: identifiers and all
    return parts, table_records


def _metadata(trial: str, options: IngestOptions, roles: dict[str, str], nparts: int,
              delivery: formats.Delivery, previous: Metadata | None, record: VersionRecord) -> Metadata:
    """dataset.yaml for the new version: what the curator wrote kept, the dictionary inferred anew
    (curated labels and notes kept), this delivery added to the deliveries."""
    columns = dictionary.infer(delivery)
    deliveries = list(previous.deliveries) if previous else []
    deliveries.append({"version": record.version, "received": record.created, **record.delivery})
    metadata = Metadata(previous or {"trial": trial})
    if previous:
        columns = dictionary.merge_curated(columns, previous.columns)
    if delivery.file_label and "title" not in metadata:
        metadata["title"] = delivery.file_label
    for name, text in options.described.items():
        metadata.setdefault(name, text)
    metadata["key"] = record.key
    if record.participant:
        metadata["participant"] = record.participant
    else:
        metadata.pop("participant", None)
    metadata.update({
        "roles": roles,
        "partitioning": {"scheme": "md5(participant) mod parts" if record.participant else "md5(key) mod parts",
                         "parts": nparts},
        "deliveries": deliveries, "columns": columns,
    })
    return metadata
