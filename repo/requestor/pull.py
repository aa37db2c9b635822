"""The requestor's side: pulling one pinned version into a directory.

The version is read from the source repository (a path or a git URL) through
git and its DVC remote, checked part by part and row by row against the
version record, and written out with a pin file. A de-identified release
(``--tier``) is fetched the same way from the source's release remote and
checked against its release record (see ``release.fetch``). The pin names the
trial, version (and tier), fingerprint and source, so a later ``ipd status`` can tell the
requestor whether a newer version supersedes theirs, and ``upgrade`` can move
the copy to the newest version, keeping the old pin in the pin's history.

Everything is fetched and checked in a scratch directory inside the target
first, so a failed pull or upgrade leaves the directory as it was; files then
move in one by one (each ``os.replace`` is atomic) and the pin goes last.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..backends import clock, formats, parquet
from ..backends.storage import RemoteRepository, is_local
from ..errors import InvalidInput, NotARepository, NotFound
from ..ingest.dictionary import labels_of
from ..progress import SILENT, Progress
from ..repository import Repository, layout
from ..repository.datasets import load_metadata
from ..repository.records import VersionRecord
from ..repository.refs import Ref, tag_name
from ..repository.verification import check_parts
from .pin import PIN, Pin, read_pin

RELEASE_FORMAT = "release"  # a release's pin: the package's files, Parquet, CSV and SAS transport at once
DATACITE = "datacite.json"  # beside a pulled release: its DataCite relations as of the pull (release.relations)


@dataclass(frozen=True)
class PullOptions:
    ref: Ref
    source: str
    out: Path
    format: str = "parquet"
    tier: str | None = None  # a de-identified release of the version, for this access tier
    issue: int | None = None  # the release's issue; None: the version's latest (an upgrade names the one it found)


@dataclass(frozen=True)
class UpgradeResult:
    pin: Pin  # the pin now in the directory
    previous: Pin  # the pin before; the same pin when the copy was already at the newest version

    @property
    def upgraded(self) -> bool:
        return self.pin is not self.previous


def _resolve(options: PullOptions) -> tuple[str, str | None, str, int | None]:
    """The source as DVC should open it, the revision of the version (or release), the version's name, and the
    release's issue (None: the version's latest, found when the release is fetched)."""
    source = options.source
    if options.tier and _catalogue(source):
        return source, None, options.ref.version or "", options.issue  # a catalogue is read at its head
    if not is_local(source):
        if options.tier:
            return source, None, options.ref.version or "", options.issue  # a release: at the source's head
        return source, tag_name(options.ref.trial, options.ref.version) if options.ref.version else None, \
            options.ref.version or "", None
    path = Path(source.removeprefix("file://")).expanduser().resolve()
    if not (path / layout.SETTINGS).is_file():
        raise NotARepository(f"{source} is not an ipd repository (no {layout.SETTINGS})")
    if options.tier:
        from .fetch import resolve_local

        version, issue, commit = resolve_local(path, source, options.ref.trial, options.ref.version, options.tier,
                                               options.issue)
        return str(path), commit, version, issue
    version = Repository(path).dataset(options.ref.trial).version(options.ref.version)
    return str(path), version.commit(), version.record.version, None


def _catalogue(source: str) -> bool:
    from .catalogue import is_catalogue

    return is_catalogue(source)


def _pinned_source(source: str) -> str:
    """The source as the pin records it: a local path made absolute, so it still names the repository elsewhere."""
    if not is_local(source) or source.startswith("file://"):
        return source
    return os.path.abspath(os.path.expanduser(source))


def _latest_version(remote: RemoteRepository, trial: str) -> str:
    folder = layout.trial(trial).versions
    if not remote.exists(folder):
        raise NotFound(f"{remote.url} has no trial {trial!r}")
    numbers = [int(name[1:-5]) for name in remote.listdir(folder) if name.startswith("v") and name.endswith(".json")]
    return f"v{max(numbers)}"


def pull(options: PullOptions, progress: Progress = SILENT) -> Pin:
    if options.tier is None and options.format not in formats.EXPORTS:
        raise InvalidInput(f"unknown format {options.format!r}; choose one of {', '.join(formats.EXPORTS)}")
    if options.tier is not None:
        from .fetch import check_tier

        check_tier(options.tier)
    trial = options.ref.trial
    if options.out.exists() and not options.out.is_dir():
        raise InvalidInput(f"{options.out} exists and is not a directory")
    existing = Pin.read(options.out) if options.out.is_dir() else None
    if existing and existing.trial != trial:
        raise InvalidInput(f"{options.out} already holds a pull of {existing.trial}; choose another --out")
    if existing and existing.tier != options.tier:
        raise InvalidInput(f"{options.out} already holds {existing.label}; choose another --out")
    url, rev, version, issue = _resolve(options)
    with progress.step(f"opening {options.source}"):
        if not version:
            with RemoteRepository(url, None) as head:
                if options.tier:
                    version, issue = _latest_release(head, trial, options.tier)
                else:
                    version = _latest_version(head, trial)
            rev = None if options.tier else tag_name(trial, version)
    if existing and existing.version != version:
        raise InvalidInput(f"{options.out} already holds {existing.label}; choose another --out")

    with _staging(options.out) as staging:
        record, written = _fetch(options, url, rev, version, staging, progress, issue)
        if existing and existing.issue != getattr(record, "issue", 1):
            raise InvalidInput(f"{options.out} already holds {existing.label}; `ipd pull --upgrade {options.out}` "
                               "moves it to the latest issue")
        for name in [*written, *_beside(staging)]:
            os.replace(staging / name, options.out / name)
    pin = _new_pin(record, options, written)
    pin.write(options.out)
    return pin


def upgrade(directory: Path, source: str | None = None, trial: str | None = None,
            progress: Progress = SILENT) -> UpgradeResult:
    """Move the pull in ``directory`` to the newest version of its source, in its pinned format.

    The pinned version must still be at the source with its fingerprint (see
    ``status.check_pin``): an upgrade from a source the copy did not come from
    would replace data with an unrelated dataset. ``trial``, when given, must be
    the pinned one, so a command naming one trial never rewrites another's copy.
    """
    from .status import status

    old = read_pin(directory)
    if trial is not None and trial != old.trial:
        raise InvalidInput(f"{directory} holds a pull of {old.trial}, not {trial}")
    source = source or old.source
    state = status(directory, source, progress)
    if not state.superseded:
        return UpgradeResult(old, old)
    options = PullOptions(Ref(old.trial, state.latest), source, directory, old.format, old.tier,
                          state.latest_issue if old.tier else None)
    url, rev, version, issue = _resolve(options)
    with _staging(directory) as staging:
        record, written = _fetch(options, url, rev, version, staging, progress, issue)
        pin = dataclasses.replace(_new_pin(record, options, written), history=[*old.history, old.history_entry()])
        pin.write(staging)
        _swap_in(directory, staging, [*written, *_beside(staging), PIN],
                 stale=[f for f in old.files if f not in written])
    return UpgradeResult(pin, old)


def _new_pin(record: VersionRecord, options: PullOptions, written: list[str]) -> Pin:
    """``record``: a version's record, or a release's (which has the same fields the pin takes)."""
    return Pin(record.trial, record.version, record.fingerprint, record.rows, _pinned_source(options.source),
               RELEASE_FORMAT if options.tier else options.format, written,
               clock.now(), f"ipd-repo {__version__}",
               tier=options.tier, issue=getattr(record, "issue", 1))


def _latest_release(remote: RemoteRepository, trial: str, tier: str) -> tuple[str, int]:
    from .fetch import latest_remote

    return latest_remote(remote, trial, tier)


def _fetch(options: PullOptions, url: str, rev: str | None, version: str, staging: Path,
           progress: Progress, issue: int | None = None) -> tuple[VersionRecord, list[str]]:
    """Fetch one version (or release: its ``issue``, None for the latest) into ``staging``, check it against its
    record, and export it there."""
    trial = options.ref.trial
    if options.tier:
        from .fetch import fetch, release_remote

        local = Path(url) if is_local(options.source) else None
        record, written = fetch(url, rev, release_remote(url, local), trial, version, options.tier,
                                options.source, staging, progress, issue)
        for name in written:
            os.replace(staging / "release" / name, staging / name)
        _write_datacite(options, record.version, record.issue, staging)
        return record, written
    paths = layout.trial(trial)
    with RemoteRepository(url, rev) as remote:
        if not remote.exists(paths.version_record(version)):
            raise NotFound(f"{options.source} has no version {trial}@{version}")
        record = VersionRecord.from_json(remote.read_text(paths.version_record(version)))
        metadata_text = remote.read_text(paths.metadata)
        with progress.step(f"fetching {trial}@{version}", total=len(record.parts)):
            remote.get(paths.data, staging / "data")
            if record.tables:
                remote.get(paths.tables, staging / layout.TABLES)
    files = [staging / "data" / p.name for p in record.parts]
    with progress.step("checking against the fingerprint"):
        check_parts(record, files)
    written = _export(record, files, metadata_text, options, staging)
    for table in record.tables:  # a trial of several tables: each beside the participant table
        view = record.table(table.name)
        files = [staging / layout.TABLES / table.name / p.name for p in view.parts]
        check_parts(view, files)
        written += _export_table(view, table.name, files, metadata_text, options, staging)
    return record, written


def _write_datacite(options: PullOptions, version: str, issue: int, staging: Path) -> None:
    """The release's relations as the source's records stand now: outside the package, which never changes."""
    from ..release.relations import of_release, release_id
    from .status import read_source

    trial, tier = options.ref.trial, options.tier or ""
    if _catalogue(options.source):
        found = _catalogue_relations(options.source, trial, version, tier, issue)
    else:
        metadata = read_source(options.source, trial, tier)
        found = of_release(metadata.records, metadata.releases, trial, version, tier, issue)
    datacite = {"identifiers": [{"identifier": release_id(trial, version, tier, issue), "identifierType": "URN"}],
                "version": version, "types": {"resourceTypeGeneral": "Dataset"},
                "relatedIdentifiers": found, "asOf": clock.now()}
    (staging / DATACITE).write_text(json.dumps(datacite, indent=2, ensure_ascii=False) + "\n")


def _catalogue_relations(source: str, trial: str, version: str, tier: str, issue: int) -> list[dict]:
    """As ``of_release``, from a catalogue's records: the version is known there by its sealed fingerprint only."""
    from ..release.relations import IS_DERIVED_FROM, of_release, relation, version_id
    from .catalogue import read_shelf

    shelf = read_shelf(source, trial, tier)
    found = of_release([], shelf.releases, trial, version, tier, issue)
    this = next((r for r in shelf.releases if r.version == version and r.issue == issue), None)
    if this is not None:
        found.insert(1, relation(version_id(trial, version), IS_DERIVED_FROM, fingerprint=this.version_fingerprint))
    return found


def _beside(staging: Path) -> list[str]:
    """Files a pull writes beside the data that the pin does not list as pulled files."""
    return [DATACITE] if (staging / DATACITE).is_file() else []


def _swap_in(directory: Path, staging: Path, names: list[str], stale: list[str]) -> None:
    """Move ``names`` from ``staging`` over their old copies, the pin last, then drop ``stale`` files.

    Old copies are hard-linked into the staging directory first, so a failure part-way
    puts every file back as it was.
    """
    backup = staging / ".previous"
    backup.mkdir()
    replaced: list[str] = []
    try:
        for name in names:
            if (directory / name).exists():
                _keep(directory / name, backup / name)
            os.replace(staging / name, directory / name)  # atomic: a failed one replaced nothing
            replaced.append(name)
    except BaseException:
        for name in reversed(replaced):
            if (backup / name).exists():
                os.replace(backup / name, directory / name)
            else:
                (directory / name).unlink(missing_ok=True)
        raise
    for name in stale:
        (directory / name).unlink(missing_ok=True)


def _keep(path: Path, copy: Path) -> None:
    try:
        os.link(path, copy)
    except OSError:  # a file system without hard links
        shutil.copy2(path, copy)


@contextlib.contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A scratch directory inside ``out`` (so files move in atomically); a failed pull leaves no new ``out``."""
    created = [p for p in (out, *out.parents) if not p.exists()]
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ipd-pull-", dir=out))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for directory in created:  # innermost first: each is empty once the one inside it is gone
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export_table(view: VersionRecord, name: str, files: list[Path], metadata_text: str, options: PullOptions,
                  staging: Path) -> list[str]:
    """Another table of the version, as ``TRIAL.TABLE.FORMAT`` (its dictionary is in the trial's)."""
    import pyarrow as pa

    metadata = load_metadata(metadata_text, f"dataset.yaml of {view.trial}@{view.version}")
    table = pa.concat_tables([parquet.read(f) for f in files])
    data_name = f"{view.trial}.{name}.{options.format}"
    labels = labels_of(metadata.tables.get(name, {}).get("columns") or [])
    formats.write(table, staging / data_name, options.format, labels, f"{metadata.title or view.trial}: {name}")
    return [data_name]


def _export(record: VersionRecord, files: list[Path], metadata_text: str, options: PullOptions,
            staging: Path) -> list[str]:
    """Write the data in the requested format, and the dictionary beside it."""
    import pyarrow as pa

    trial = record.trial
    metadata = load_metadata(metadata_text, f"dataset.yaml of {trial}@{record.version}")
    table = pa.concat_tables([parquet.read(f) for f in files])
    data_name = f"{trial}.{options.format}"
    labels = labels_of(metadata.columns)
    formats.write(table, staging / data_name, options.format, labels, metadata.title or trial)
    (staging / f"{trial}.dataset.yaml").write_text(metadata_text)
    return [data_name, f"{trial}.dataset.yaml"]
