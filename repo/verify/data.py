"""Stored bytes against their records: Parquet parts and release files, in the cache and the remotes.

A part is stored under its MD5 in the DVC cache and in the restricted remote;
each copy is hashed (a local-directory remote is read directly; others are
listed as not checked). Then each version's rows are hashed against its
fingerprint. A release's files are checked against the SHA-256s of its record
and of its ``manifest.json``, in the cache and the release remote.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..backends import storage
from ..backends.hashing import md5_of, sha256_of
from ..errors import RepoError
from ..progress import Progress
from ..release import record as releases
from ..repository import Repository, layout
from ..repository.records import VersionRecord
from ..repository.remotes import remote_name
from .report import Problem


def remote_dir(root: Path, name: str) -> tuple[str, Path | None]:
    """The remote's URL, and its directory when it is a local one."""
    return storage.configured_url(root, name), storage.remote_directory(root, name)


def check(repo: Repository, trial: str, records: list[VersionRecord], result, progress: Progress,
          fingerprints: bool) -> None:
    root = repo.root
    url, remote = remote_dir(root, remote_name(repo, "restricted"))
    if url and remote is None:
        result.not_checked.append(_note(f"the remote {url}", "not a local directory; its copies were not read"))
    wanted = sorted({p.md5 for r in records for p in [*r.parts, *(p for t in r.tables for p in t.parts)]})
    missing = [m for m in wanted if not storage.cache_path(root, m).exists()]
    if missing:
        try:
            storage.fetch(root, missing)
        except RepoError as exc:
            result.add(f"the remote {url}", str(exc))
    hashed: dict[Path, str] = {}
    with progress.step(f"{trial}: parts and fingerprints", total=len(records)) as advance:
        for record in records:
            for name in record.table_names:
                _parts(root, record.table(name), remote, url, hashed, result, fingerprints,
                       f" table {name}" if name and name != record.participant_table else "")
            advance(1)
    for release in releases.records(root, trial):
        _release(repo, release, hashed, result)


def _note(obj: str, reason: str):

    return Problem(obj, reason)


def _md5(path: Path, hashed: dict[Path, str]) -> str:
    if path not in hashed:
        hashed[path] = md5_of(path)
    return hashed[path]


def _parts(root: Path, record: VersionRecord, remote: Path | None, url: str, hashed: dict, result,
           fingerprints: bool, table: str = "") -> None:
    label = f"{record.trial}@{record.version}{table}"
    sound = True
    for part in record.parts:
        cached = storage.cache_path(root, part.md5)
        where = f"part {part.name} of {label}"
        if not cached.exists():
            result.add(f"{where} in the DVC cache", "is missing, and the remote does not hold it either")
            sound = False
        elif (found := _md5(cached, hashed)) != part.md5:
            result.add(f"{where} in the DVC cache", f"has MD5 {found}, but the version record says {part.md5}")
            sound = False
        if remote is not None:
            copy = storage.object_path(remote, part.md5)
            if not copy.exists():
                result.add(f"{where} in the remote {url}", "is missing")
            elif (found := _md5(copy, hashed)) != part.md5:
                result.add(f"{where} in the remote {url}", f"has MD5 {found}, but the version record says {part.md5}")
    if sound and fingerprints:
        from ..repository.verification import check_parts

        try:
            check_parts(record, [storage.cache_path(root, p.md5) for p in record.parts])
        except RepoError as exc:
            result.add(label, str(exc).removeprefix(f"{record.trial}@{record.version}: "))


def _release(repo: Repository, release: releases.ReleaseRecord, hashed: dict, result) -> None:
    """Every file of the package, in each copy there is, against the record and the manifest."""
    root = repo.root
    folder = layout.trial(release.trial).release_package(release.name)
    label = f"release {release.label}"
    url, remote = remote_dir(root, remote_name(repo, "release"))
    stores = {"the DVC cache": root / layout.DVC_CACHE, **({f"the release remote {url}": remote} if remote else {})}
    if url and remote is None:
        result.not_checked.append(_note(f"the release remote {url}", "not a local directory; its copies were not read"))
    listing = _listing(root, folder, stores)
    if listing is None:
        result.add(layout.pointer(folder),
                   "names a package whose listing is in neither the DVC cache nor the release remote")
        return
    if set(listing) != set(release.files):
        extra = sorted(set(listing) ^ set(release.files))
        result.add(label, f"the package and {layout.trial(release.trial).release_record(release.name)} "
                          f"list different files: {', '.join(extra)}")
    seen = False
    for where, store in stores.items():
        copies = {name: storage.object_path(store, md5) for name, md5 in listing.items()}
        present = {name: path for name, path in copies.items() if path.exists()}
        if not present:
            continue
        seen = True
        if store != stores["the DVC cache"]:  # a cache holds what was built or pulled here, and packages share
            for name in sorted(set(copies) - set(present)):  # files: only a remote must hold all of them
                result.add(f"file {name} of {label} in {where}", "is missing")
        manifest = _manifest(present.get("manifest.json"))
        for name, path in sorted(present.items()):
            found = sha256_of(path)
            if found != release.files.get(name):
                result.add(f"file {name} of {label} in {where}",
                           f"has SHA-256 {found}, but the release record says {release.files.get(name)}")
            elif name != "manifest.json" and manifest is not None and manifest.get(name) != found:
                result.add(f"file {name} of {label} in {where}", "does not match the package's manifest.json")
    if not seen:
        result.add(label, "its files are in neither the DVC cache nor the release remote")


def _listing(root: Path, folder: str, stores: dict[str, Path]) -> dict[str, str] | None:
    """File name -> MD5 of the package as DVC stored it (its ``.dir`` object, from whichever copy has it)."""
    try:
        md5 = storage.pointer_md5((root / layout.pointer(folder)).read_text())
    except (OSError, ValueError):
        return None
    for store in stores.values():
        path = storage.object_path(store, md5)
        if path.exists():
            try:
                return storage.read_listing(path)
            except ValueError:
                continue
    return None


def _manifest(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    try:
        return dict(json.loads(path.read_text()).get("files", {}))
    except (ValueError, AttributeError, TypeError):
        return None
