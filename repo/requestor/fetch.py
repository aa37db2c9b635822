"""The requestor's side of a release: finding it in a source, fetching it from the release remote, checking it.

A release is read from the source repository's git (its record) and its
release remote (the package), never the restricted remote: a requestor
granted releases only can pull them. Every file is checked against the SHA-256
the release record gives, the manifest inside the package must agree with the
record, and the released rows must give the recorded fingerprint, before
anything reaches the requestor's directory.

A release named by its version alone is its latest issue (``release.record``):
a holder pulling vN gets what the curator last issued for it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..backends.hashing import sha256_of
from ..backends.storage import RELEASE_REMOTE, RemoteRepository
from ..errors import IntegrityError, InvalidInput, NotFound
from ..progress import Progress
from ..release import package
from ..release.record import ReleaseRecord, latest_issue, parse_name, release_name
from ..release.record import records as recorded
from ..release.rules import TIERS
from ..repository import layout


def check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise InvalidInput(f"unknown tier {tier!r}; choose {' or '.join(TIERS)}")
    return tier


def resolve_local(path: Path, source: str, trial: str, version: str | None, tier: str,
                  issue: int | None = None) -> tuple[str, int, str]:
    """The release's version (the latest of the tier, if none is named), its issue (the latest, if none is
    named) and the commit that recorded it."""
    from ..repository import Repository

    repo = Repository(path)
    repo.dataset(trial)  # a trial the source does not have is NotFound, as for a version
    found = recorded(path, trial, tier)
    if version is None:
        if not found:
            raise NotFound(f"{source} has no {tier} release of {trial}")
        version = found[-1].version
    if issue is None:
        latest = latest_issue(found, version, tier)
        issue = latest.issue if latest else 1
    commit = repo.scm.commit_adding(layout.trial(trial).release_record(release_name(version, tier, issue)))
    if commit is None:
        which = f" issue {issue}" if issue > 1 else ""
        raise NotFound(f"{source} has no {tier} release of {trial}@{version}{which}{_hint(path, trial, tier)}")
    return version, issue, commit


def listed(remote: RemoteRepository, trial: str, tier: str) -> list[tuple[int, int, str]]:
    """(version number, issue, version) of every ``tier`` release the source lists, in order."""
    folder = layout.trial(trial).releases
    names = [parse_name(n) for n in (remote.listdir(folder) if remote.exists(folder) else [])]
    return sorted((int(found[0][1:]), found[2], found[0]) for found in names if found and found[1] == tier)


def latest_remote(remote: RemoteRepository, trial: str, tier: str) -> tuple[str, int]:
    """The version and issue of the tier's latest release in ``remote``."""
    if not remote.exists(layout.trial(trial).folder):
        raise NotFound(f"{remote.url} has no trial {trial!r}")
    found = listed(remote, trial, tier)
    if not found:
        raise NotFound(f"{remote.url} has no {tier} release of {trial}")
    return found[-1][2], found[-1][1]


def release_remote(url: str, local: Path | None) -> str:
    """The name of the source's release remote, as its ipd.toml says (read without cloning when local)."""
    if local is None:
        return RELEASE_REMOTE  # a URL: the name ipd gives it; a repository naming another is read through git
    if not (local / layout.SETTINGS).is_file():
        return RELEASE_REMOTE  # a catalogue: its DVC config names the release remote so
    settings = tomllib.loads((local / layout.SETTINGS).read_text())
    return settings.get("remotes", {}).get("release", RELEASE_REMOTE)


def fetch(url: str, rev: str | None, remote_name: str, trial: str, version: str, tier: str, source: str,
          staging: Path, progress: Progress, issue: int | None = None) -> tuple[ReleaseRecord, list[str]]:
    """Fetch one release into ``staging`` and check it; returns its record and the names of its files.

    ``issue`` None: the version's latest issue in the source."""
    paths = layout.trial(trial)
    with RemoteRepository(url, rev, remote=remote_name) as remote:
        if issue is None:
            issue = max((i for _, i, v in listed(remote, trial, tier) if v == version), default=1)
        name = release_name(version, tier, issue)
        if not remote.exists(paths.release_record(name)):
            which = f" issue {issue}" if issue > 1 else ""
            raise NotFound(f"{source} has no {tier} release of {trial}@{version}{which}")
        record = ReleaseRecord.from_json(remote.read_text(paths.release_record(name)))
        label = record.label
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

    if package.package_fingerprint(folder, record.trial, record.files) != record.fingerprint:
        raise IntegrityError(f"{label}: the released rows do not match the recorded fingerprint {record.fingerprint}")


def _hint(path: Path, trial: str, tier: str) -> str:
    found = recorded(path, trial, tier)
    return f" (latest is {found[-1].version})" if found else ""
