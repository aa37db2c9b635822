"""``ipd verify --rebuild``: every version made again from the deliveries and the log, in a scratch directory.

A delivery or re-delivery is read again from its file under ``source/vN/``
(as ingest read it: with the reader its record names, ``formats.READER``) and
split into parts; a corrected version is its parent's rebuilt rows with the
log entries it applied, in log order (as commit applies them, ``add_column``
entries reading their files under ``source/corrections/``). Each rebuilt
fingerprint must be the recorded one: this is what makes the lineage
checkable rather than descriptive. Releases are then built again from the
rebuilt rows (see ``releases.py``). Nothing is written into the repository;
only the DVC cache may gain fetched objects.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from ..backends import storage
from ..backends.hashing import sha256_of_delivery
from ..corrections import log
from ..errors import RepoError
from ..progress import SILENT, Progress
from ..repository import Repository, layout
from ..repository.records import VersionRecord
from .report import Verification


def rebuild(repo: Repository, trial: str | None = None, progress: Progress = SILENT,
            result: Verification | None = None) -> Verification:
    result = result or Verification()
    trials = [repo.dataset(trial).trial] if trial else repo.trials()
    with tempfile.TemporaryDirectory(prefix="ipd-rebuild-") as scratch:
        for name in trials:
            if name not in result.trials:
                result.trials.append(name)
            _trial(repo, name, Path(scratch) / name, progress, result)
    return result


def _trial(repo: Repository, trial: str, scratch: Path, progress: Progress, result: Verification) -> None:
    records = repo.dataset(trial).records()
    entries = log.read(repo.root / layout.trial(trial).log)
    built: dict[str, tuple[VersionRecord, dict[str, Path]]] = {}
    tables: dict[str, dict[str, dict[str, Path]]] = {}  # version -> other table -> part name -> rebuilt file
    try:
        sources = _sources(repo.root, trial, scratch / layout.SOURCE)
    except RepoError as exc:
        result.add(layout.trial(trial).source, str(exc))
        return
    with progress.step(f"{trial}: rebuilding from source", total=len(records)) as advance:
        for record in records:
            label = f"{trial}@{record.version}"
            try:
                made = _version(record, built, entries, sources, scratch / record.version, tables)
            except RepoError as exc:
                result.add(label, f"cannot be rebuilt: {exc}")
                advance(1)
                continue
            if made is not None:
                built[record.version] = made
                if made[0].fingerprint != record.fingerprint:
                    result.add(label, f"rebuilt from {_from(record)}, its rows have fingerprint "
                                      f"{made[0].fingerprint}, but the version record says {record.fingerprint}")
                if record.sources:
                    _repool(repo, record, label, result)
                for table, rebuilt in zip(record.tables, made[0].tables):
                    if rebuilt.fingerprint != table.fingerprint:
                        result.add(f"{label} table {table.name}", f"rebuilt from {_from(record)}, its rows have "
                                   f"fingerprint {rebuilt.fingerprint}, but the version record says "
                                   f"{table.fingerprint}")
            else:
                result.add(label, f"cannot be rebuilt: its parent {record.parent} could not be")
            advance(1)
    from .releases import rebuild_releases

    rebuild_releases(repo, trial, built, tables, scratch, progress, result)


def _repool(repo: Repository, record: VersionRecord, label: str, result: Verification) -> None:
    """A topic's pooled version pooled again from the trial versions and mappings it names (``topics.repool``)."""
    from ..topics.repool import repooled_fingerprint

    try:
        commit = repo.dataset(record.trial).version(record.version).commit()
        found = repooled_fingerprint(repo, record, commit)
    except RepoError as exc:
        result.add(label, f"cannot be pooled again: {exc}")
        return
    if found != record.fingerprint:
        named = ", ".join(f"{s['trial']}@{s['version']}" for s in record.sources)
        result.add(label, f"pooled again from {named} and its mappings, its rows have fingerprint {found}, but the "
                          f"version record says {record.fingerprint}")


def _from(record: VersionRecord) -> str:
    files = layout.trial(record.trial)
    if record.delivery:
        return files.file(record.delivery["file"])
    return f"{record.parent} and entries {', '.join(record.corrections)} of {files.log}"


def _version(record: VersionRecord, built: dict, entries: list, sources: Path, folder: Path, tables: dict):
    if record.delivery:
        from ..backends.tables import read_tables
        from ..versions.cut import written
        from ..versions.parts import write_parts

        delivered = layout.trial(record.trial).file(record.delivery["file"])
        path = sources / record.delivery["file"].removeprefix(f"{layout.SOURCE}/")
        if not path.exists():
            raise RepoError(f"{delivered} is not in DVC storage")
        if (found := sha256_of_delivery(path)) != record.delivery["sha256"]:
            raise RepoError(f"{delivered} has SHA-256 {found}, "
                            f"but the version record says {record.delivery['sha256']}")
        deliveries = read_tables(path, record.reader)  # as ingest read it then, not as it reads now
        if record.participant_table is None and len(deliveries) != 1:
            raise RepoError(f"{delivered} holds {len(deliveries)} tables, but the version record has one")
        if missing := [t for t in [record.participant_table, *(t.name for t in record.tables)]
                       if t and t not in deliveries]:
            raise RepoError(f"{delivered} has no table {missing[0]!r}, which the version record names")
        table = deliveries[record.participant_table or next(iter(deliveries))].table
        parts = write_parts(table, record.key, record.participant_column, record.nparts, folder / layout.DATA)
        made = replace(record, **written(table.schema, parts), tables=[
            replace(t, **written(deliveries[t.name].table.schema, write_parts(
                deliveries[t.name].table, t.key, t.participant, t.nparts, folder / layout.TABLES / t.name)))
            for t in record.tables])
        tables[record.version] = {t.name: {p.name: folder / layout.TABLES / t.name / p.name for p in t.parts}
                                  for t in made.tables}
        return made, {p.name: folder / layout.DATA / p.name for p in parts}
    if record.parent not in built:
        return None
    from ..corrections.rewrite import rewrite_parts

    parent, files = built[record.parent]
    applied = [e for e in entries if e.version == record.version]
    (folder / layout.DATA).mkdir(parents=True, exist_ok=True)
    (folder / layout.SOURCE).symlink_to(sources, target_is_directory=True)  # add_column files: source/corrections/
    rewritten = rewrite_parts(folder, parent, files, [e for e in applied if e.table is None])
    made_tables, tables[record.version] = [], dict(tables.get(record.parent, {}))
    for table in parent.tables:  # another table the version corrected is rewritten from its parent's
        mine = [e for e in applied if e.table == table.name]
        if mine:
            done = rewrite_parts(folder, parent.table(table.name), tables[record.parent][table.name], mine,
                                 data=folder / layout.TABLES / table.name)
            table = replace(table, rows=done.rows, fingerprint=done.fingerprint, parts=list(done.parts_all),
                            columns=done.schema.names)
            tables[record.version][table.name] = dict(zip((p.name for p in done.parts_all), done.files))
        made_tables.append(table)
    made = replace(record, rows=rewritten.rows, fingerprint=rewritten.fingerprint, parts=list(rewritten.parts_all),
                   tables=made_tables)
    return made, dict(zip((p.name for p in rewritten.parts_all), rewritten.files))


def _sources(root: Path, trial: str, into: Path) -> Path:
    """The trial's deliveries (and supplied files), copied out of the DVC cache."""
    target = layout.trial(trial).source
    into.mkdir(parents=True, exist_ok=True)
    pointer = root / layout.pointer(target)
    if not pointer.is_file():
        return into
    for relpath, cached in storage.stored_directory(root, pointer.read_text(), target).items():
        (into / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, into / relpath)
    return into
