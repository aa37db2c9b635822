"""The requestor's side of a release: finding it in a source, fetching it from the release remote, checking it.

A release is read from the source repository's git (its record) and its
release remote (the package), never the restricted remote: a requestor
granted releases only can pull them. Every file is checked against the SHA-256
the release record gives, the manifest inside the package must agree with the
record, and the released rows must give the recorded fingerprint, before
anything reaches the requestor's directory.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..backends import parquet
from ..backends.hashing import sha256_of
from ..backends.storage import RELEASE_REMOTE, RemoteRepository
from ..errors import IntegrityError, InvalidInput, NotFound
from ..progress import Progress
from ..release import package
from ..release.record import NAME, ReleaseRecord, records, release_name
from ..release.rules import TIERS
from ..repository import layout


def check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise InvalidInput(f"unknown tier {tier!r}; choose {' or '.join(TIERS)}")
    return tier


def resolve_local(path: Path, source: str, trial: str, version: str | None, tier: str) -> tuple[str, str]:
    """The release's version (the latest of the tier, if none is named) and the commit that recorded it."""
    from ..repository import Repository

    repo = Repository(path)
    repo.dataset(trial)  # a trial the source does not have is NotFound, as for a version
    if version is None:
        found = records(path, trial, tier)
        if not found:
            raise NotFound(f"{source} has no {tier} release of {trial}")
        version = found[-1].version
    commit = repo.scm.commit_adding(layout.trial(trial).release_record(release_name(version, tier)))
    if commit is None:
        raise NotFound(f"{source} has no {tier} release of {trial}@{version}{_hint(path, trial, tier)}")
    return version, commit


def latest_remote(remote: RemoteRepository, trial: str, tier: str) -> str:
    folder = layout.trial(trial).releases
    if not remote.exists(layout.trial(trial).folder):
        raise NotFound(f"{remote.url} has no trial {trial!r}")
    names = [NAME.match(n) for n in (remote.listdir(folder) if remote.exists(folder) else [])]
    numbers = [int(m.group(1)[1:]) for m in names if m and m.group(2) == tier]
    if not numbers:
        raise NotFound(f"{remote.url} has no {tier} release of {trial}")
    return f"v{max(numbers)}"


def release_remote(url: str, local: Path | None) -> str:
    """The name of the source's release remote, as its ipd.toml says (read without cloning when local)."""
    if local is None:
        return RELEASE_REMOTE  # a URL: the name ipd gives it; a repository naming another is read through git
    if not (local / layout.SETTINGS).is_file():
        return RELEASE_REMOTE  # a catalogue: its DVC config names the release remote so
    settings = tomllib.loads((local / layout.SETTINGS).read_text())
    return settings.get("remotes", {}).get("release", RELEASE_REMOTE)


def fetch(url: str, rev: str | None, remote_name: str, trial: str, version: str, tier: str, source: str,
          staging: Path, progress: Progress) -> tuple[ReleaseRecord, list[str]]:
    """Fetch one release into ``staging`` and check it; returns its record and the names of its files."""
    label = f"{trial}@{version} ({tier})"
    paths, name = layout.trial(trial), release_name(version, tier)
    with RemoteRepository(url, rev, remote=remote_name) as remote:
        if not remote.exists(paths.release_record(name)):
            raise NotFound(f"{source} has no {tier} release of {trial}@{version}")
        record = ReleaseRecord.from_json(remote.read_text(paths.release_record(name)))
        with progress.step(f"fetching the release {label}", total=len(record.files)):
            remote.get(paths.release_package(name), staging / "release")
    folder = staging / "release"
    with progress.step("checking against the release record and fingerprint"):
        check(record, folder, label)
    return record, sorted(record.files)


def check(record: ReleaseRecord, folder: Path, label: str) -> None:
    """Every file's SHA-256, the manifest, and the fingerprint of the rows, against the release record."""
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if present != sorted(record.files):
        missing = sorted(set(record.files) - set(present)) or sorted(set(present) - set(record.files))
        raise IntegrityError(f"{label}: the package's files are not those the release record lists ({missing[0]})")
    for name, expected in sorted(record.files.items()):
        actual = sha256_of(folder / name)
        if actual != expected:
            raise IntegrityError(f"{label}: {name} has SHA-256 {actual}, the release record says {expected}")
    manifest = package.Manifest.from_json((folder / package.MANIFEST).read_text())
    listed = {n: h for n, h in record.files.items() if n != package.MANIFEST}
    if manifest.files != listed or manifest.fingerprint != record.fingerprint:
        raise IntegrityError(f"{label}: the package's manifest does not agree with the release record")

    from ..repository.fingerprint import of_table

    data = folder / package.data_names(record.trial)["parquet"]
    if of_table(parquet.read(data)) != record.fingerprint:
        raise IntegrityError(f"{label}: the released rows do not match the recorded fingerprint {record.fingerprint}")


def _hint(path: Path, trial: str, tier: str) -> str:
    found = records(path, trial, tier)
    return f" (latest is {found[-1].version})" if found else ""
