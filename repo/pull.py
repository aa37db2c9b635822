"""The requestor's side: pulling one pinned version into a directory.

The version is read from the source repository (a path or a git URL) through
git and its DVC remote, checked part by part and row by row against the
version record, and written out with a pin file. The pin names the trial,
version, fingerprint and source, so a later ``ipd status`` can tell the
requestor whether a newer version supersedes theirs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import __version__, formats
from .datasets import load_metadata
from .dictionary import labels_of
from .errors import InvalidInput, NotARepository, NotFound
from .progress import SILENT, Progress
from .refs import Ref, tag_name
from .repository import SETTINGS, Repository
from .storage import RemoteRepository, is_local
from .verification import check_parts
from .versions import VersionRecord, record_path

PIN = "ipd-pin.json"


@dataclass(frozen=True)
class PullOptions:
    ref: Ref
    source: str
    out: Path
    format: str = "parquet"


@dataclass
class Pin:
    trial: str
    version: str
    fingerprint: str
    rows: int
    source: str
    format: str
    files: list[str]
    pulled: str
    tool: str
    history: list[dict] = field(default_factory=list)

    def write(self, directory: Path) -> None:
        (directory / PIN).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, directory: Path) -> Pin | None:
        path = directory / PIN
        return cls(**json.loads(path.read_text())) if path.is_file() else None


def _resolve(options: PullOptions) -> tuple[str, str | None, str]:
    """The source as DVC should open it, the revision of the version, and the version's name."""
    source = options.source
    if not is_local(source):
        return source, tag_name(options.ref.trial, options.ref.version) if options.ref.version else None, \
            options.ref.version or ""
    path = Path(source.removeprefix("file://")).expanduser().resolve()
    if not (path / SETTINGS).is_file():
        raise NotARepository(f"{source} is not an ipd repository (no {SETTINGS})")
    version = Repository(path).dataset(options.ref.trial).version(options.ref.version)
    return str(path), version.commit(), version.record.version


def _pinned_source(source: str) -> str:
    """The source as the pin records it: a local path made absolute, so it still names the repository elsewhere."""
    if not is_local(source) or source.startswith("file://"):
        return source
    return os.path.abspath(os.path.expanduser(source))


def _latest_version(remote: RemoteRepository, trial: str) -> str:
    folder = f"datasets/{trial}/versions"
    if not remote.exists(folder):
        raise NotFound(f"{remote.url} has no trial {trial!r}")
    numbers = [int(name[1:-5]) for name in remote.listdir(folder) if name.startswith("v") and name.endswith(".json")]
    return f"v{max(numbers)}"


def pull(options: PullOptions, progress: Progress = SILENT) -> Pin:
    if options.format not in formats.EXPORTS:
        raise InvalidInput(f"unknown format {options.format!r}; choose one of {', '.join(formats.EXPORTS)}")
    trial = options.ref.trial
    if options.out.exists() and not options.out.is_dir():
        raise InvalidInput(f"{options.out} exists and is not a directory")
    existing = Pin.read(options.out) if options.out.is_dir() else None
    if existing and existing.trial != trial:
        raise InvalidInput(f"{options.out} already holds a pull of {existing.trial}; choose another --out")
    url, rev, version = _resolve(options)
    with progress.step(f"opening {options.source}"):
        if not version:
            with RemoteRepository(url, None) as head:
                version = _latest_version(head, trial)
            rev = tag_name(trial, version)
    if existing and existing.version != version:
        raise InvalidInput(f"{options.out} already holds {trial}@{existing.version}; choose another --out")

    with _staging(options.out) as staging:
        with RemoteRepository(url, rev) as remote:
            if not remote.exists(record_path(trial, version)):
                raise NotFound(f"{options.source} has no version {trial}@{version}")
            record = VersionRecord.from_json(remote.read_text(record_path(trial, version)))
            metadata_text = remote.read_text(f"datasets/{trial}/dataset.yaml")
            with progress.step(f"fetching {trial}@{version}", total=len(record.parts)):
                remote.get(f"datasets/{trial}/data", staging / "data")
        files = [staging / "data" / p.name for p in record.parts]
        with progress.step("checking against the fingerprint"):
            check_parts(record, files)
        written = _export(record, files, metadata_text, options, staging)
        for name in written:
            os.replace(staging / name, options.out / name)
    pin = Pin(trial, version, record.fingerprint, record.rows, _pinned_source(options.source), options.format,
              written, dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(), f"ipd-repo {__version__}")
    pin.write(options.out)
    return pin


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


def _export(record: VersionRecord, files: list[Path], metadata_text: str, options: PullOptions,
            staging: Path) -> list[str]:
    """Write the data in the requested format, and the dictionary beside it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    trial = record.trial
    metadata = load_metadata(metadata_text, f"dataset.yaml of {trial}@{record.version}")
    table = pa.concat_tables([pq.read_table(f) for f in files])
    data_name = f"{trial}.{options.format}"
    labels = labels_of(metadata.get("columns", []))
    formats.write(table, staging / data_name, options.format, labels, metadata.get("title", trial))
    (staging / f"{trial}.dataset.yaml").write_text(metadata_text)
    return [data_name, f"{trial}.dataset.yaml"]
