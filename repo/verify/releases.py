"""Each release built again, in a scratch directory, from its rebuilt version and its approved rules.

Everything a release was built from is read as it was when the release was
recorded (the commit that added its record): the approval (which must still
hash to the record's ``approval.sha256``), ``dataset.yaml``, the linkage and
its secret, and the consent lists. The rows are the version as rebuilt from
source. The released rows' fingerprint and every file's SHA-256 must come out
as the release record says: a package depends on nothing else.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from ..backends import parquet, storage
from ..errors import RepoError
from ..progress import SILENT, Progress
from ..release import codes, ids, package
from ..release import record as records
from ..repository import Repository, layout


def rebuild_releases(repo: Repository, trial: str, built: dict, tables: dict, scratch: Path, progress: Progress,
                     result) -> None:
    """``built``: version -> (its rebuilt record, part name -> rebuilt file); ``tables``: version -> its other
    tables -> part name -> rebuilt file."""
    found = records.records(repo.root, trial)
    if not found:
        return
    added = repo.scm.added_in(layout.trial(trial).releases)
    with progress.step(f"{trial}: rebuilding releases", total=len(found)) as advance:
        for release in found:
            label = f"release {release.label}"
            commit = added.get(layout.trial(trial).release_record(release.name))
            if release.version not in built:
                result.add(label, f"cannot be rebuilt: {trial}@{release.version} could not be")
            elif commit is None:
                result.add(label, "cannot be rebuilt: its record was never committed")
            else:
                try:
                    _compare(release, _rebuild(repo, release, commit, built[release.version][1],
                                               tables.get(release.version, {}),
                                               scratch / "releases" / release.name), label, result)
                except RepoError as exc:
                    result.add(label, f"cannot be rebuilt: {exc}")
            advance(1)


def _compare(release: records.ReleaseRecord, made: tuple[str, dict[str, str]], label: str, result) -> None:
    fingerprint, files = made
    if fingerprint != release.fingerprint:
        result.add(label, f"rebuilt from {release.trial}@{release.version} and its approved rules, the released rows "
                          f"have fingerprint {fingerprint}, but the release record says {release.fingerprint}")
    for name in sorted(set(files) | set(release.files)):
        if files.get(name) != release.files.get(name):
            result.add(f"file {name} of {label}", f"rebuilt, has SHA-256 {files.get(name)}, but the release "
                                                  f"record says {release.files.get(name)}")


def _rebuild(repo: Repository, release: records.ReleaseRecord, commit: str, parts: dict[str, Path],
             tables: dict[str, dict[str, Path]], folder: Path) -> tuple[str, dict[str, str]]:
    from ..release.approve import Approval
    from ..release.build import (
        deidentified,
        described,
        key_variables,
        sealed_fingerprint,
    )
    from ..release.consent import consent_lists
    from ..release.plan import plan_metadata
    from ..release.shape import of

    trial, files = release.trial, layout.trial(release.trial)
    approval = _at(repo, commit, files.file(release.approval["file"]))
    if hashlib.sha256(approval).hexdigest() != release.approval.get("sha256"):
        raise RepoError(f"{files.file(release.approval['file'])} at commit {commit[:12]} does not hash to the approval "
                        "the release record names")
    rules = Approval.from_json(approval.decode("utf-8")).rules
    linkage = _linkage(repo, commit, trial)
    as_released = _AsReleased(repo, trial, _at(repo, commit, files.metadata))
    metadata = plan_metadata(as_released, release.version)
    shape = of(_rows(parts), metadata, lambda name: _rows(tables[name]))
    excluded = consent_lists(_consent_root(repo, commit, trial, rules, folder / "root"), trial, rules)
    released, figures, fingerprint = deidentified(shape.participants, rules, release.tier, linkage, shape.metadata,
                                                 excluded, SILENT, release.package_format, shape.records)
    secret = linkage.secret if release.sealed else None
    about = package.About(trial, release.version, release.tier, str(metadata.title or ""),
                          str(metadata.get("notes") or ""), sealed_fingerprint(release.version_fingerprint, secret),
                          release.approval, key_variables(metadata, rules),
                          **described(repo, as_released, metadata, release.version, release.tier, release, secret),
                          package_format=release.package_format)
    out = folder / "package"
    manifest = package.write(out, released, figures, about, fingerprint)
    from ..backends.hashing import sha256_of

    return fingerprint, {**manifest.files, package.MANIFEST: sha256_of(out / package.MANIFEST)}


def _rows(parts: dict[str, Path]):
    import pyarrow as pa

    return pa.concat_tables([parquet.read(parts[name]) for name in sorted(parts)])


def _at(repo: Repository, commit: str, path: str) -> bytes:
    found = repo.scm.blob(commit, path)
    if found is None:
        raise RepoError(f"{path} is not in commit {commit[:12]}")
    return found


class _AsReleased:
    """The trial as ``plan_metadata`` reads it, with ``dataset.yaml`` as it was when the release was recorded."""

    def __init__(self, repo: Repository, trial: str, text: bytes) -> None:
        self.dataset, self.text = repo.dataset(trial), text.decode("utf-8")
        self.trial = self.dataset.trial

    def records(self):
        return self.dataset.records()

    def metadata(self, at: str | None = None) -> dict:
        from ..repository.datasets import load_metadata

        return load_metadata(self.text, layout.trial(self.dataset.trial).metadata) if at is None \
            else self.dataset.metadata(at=at)


def _linkage(repo: Repository, commit: str, trial: str) -> ids.Linkage:
    folder = layout.trial(trial).linkage
    files = storage.stored_directory(repo.root, _at(repo, commit, layout.pointer(folder)).decode("utf-8"), folder)
    if ids.FILE not in files or ids.SECRET not in files:
        raise RepoError(f"{folder}: the linkage is in neither the DVC cache nor the restricted remote")
    try:
        return ids.load(files[ids.FILE], files[ids.SECRET], files.get(codes.FILE))
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise RepoError(f"{folder}: the linkage cannot be read ({' '.join(str(exc).split())})") from exc


def _consent_root(repo: Repository, commit: str, trial: str, rules, root: Path) -> Path:
    """A scratch root holding the consent ID lists the rules name, from DVC storage or git."""
    files = layout.trial(trial)
    source = f"{layout.SOURCE}/"
    for name in ("no_sharing", "no_commercial"):
        rule = getattr(rules, name)
        if rule is None or not rule.file:
            continue
        target = root / files.file(rule.file)
        target.parent.mkdir(parents=True, exist_ok=True)
        if rule.file.startswith(source):
            pointer = repo.scm.blob(commit, layout.pointer(files.source))
            stored = storage.stored_directory(repo.root, pointer.decode("utf-8"), files.source) if pointer else {}
            cached = stored.get(rule.file.removeprefix(source))
            if cached is not None:
                shutil.copyfile(cached, target)
        elif (text := repo.scm.blob(commit, files.file(rule.file))) is not None:
            target.write_bytes(text)
    return root
