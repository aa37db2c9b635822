"""The DVC remotes of a repository, one per kind of data.

Restricted data (deliveries, versions, the release-ID linkage) and
de-identified releases go to different DVC remotes, so access is granted per
kind by the storage itself: a requestor can be given the release remote
without ever being able to read the restricted one. ``ipd.toml`` names the DVC
remote of each kind; ``.dvc/config`` holds its URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from ..backends import storage
from ..errors import InvalidInput
from . import Repository, layout

KINDS = {"restricted": storage.RESTRICTED_REMOTE, "release": storage.RELEASE_REMOTE}


@dataclass(frozen=True)
class Remote:
    kind: str
    name: str  # the DVC remote's name
    url: str  # "" when the repository has none of this kind


def remote_name(repo: Repository, kind: str) -> str:
    return repo.settings.get("remotes", {}).get(kind, KINDS[kind])


def remotes(repo: Repository) -> list[Remote]:
    return [Remote(kind, name := remote_name(repo, kind), storage.configured_url(repo.root, name)) for kind in KINDS]


def set_remote(repo: Repository, kind: str, url: str) -> Remote:
    """Point the remote of ``kind`` at ``url`` and commit the change (``.dvc/config``, ``ipd.toml``)."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind of remote {kind!r}; choose {' or '.join(KINDS)}")
    if not url.strip():
        raise InvalidInput("give the remote's URL: a directory or any DVC URL (s3://…, ssh://…)")
    other = next(r for r in remotes(repo) if r.kind != kind)
    if other.url and _same(repo.root, other.url, url):
        raise InvalidInput(f"{url} is already the {other.kind} remote: releases and restricted data must be "
                           "stored apart, so that access to one is not access to the other")
    name = remote_name(repo, kind)
    paths = [layout.SETTINGS, layout.DVC_CONFIG, layout.DVCIGNORE]
    with repo.writing(paths):
        storage.set_remote(repo.root, name, url)
        settings = tomlkit.parse((repo.root / layout.SETTINGS).read_text())
        table = settings.setdefault("remotes", tomlkit.table())
        if kind not in table:
            table[kind] = name
            (repo.root / layout.SETTINGS).write_text(tomlkit.dumps(settings))
        if repo.scm.has_changes(paths):
            repo.scm.commit(paths, f"ipd remote {kind} {url}")
    return Remote(kind, name, storage.configured_url(repo.root, name))


def _same(root: Path, stored: str, given: str) -> bool:
    """Whether ``given`` (as typed, relative to the cwd) names the remote stored (relative to .dvc/) as ``stored``."""
    if not (storage.is_local(stored) and storage.is_local(given)):
        return stored.rstrip("/") == given.rstrip("/")
    here = Path(stored.removeprefix("file://")).expanduser()
    there = Path(given.removeprefix("file://")).expanduser()
    here = here if here.is_absolute() else root / layout.DVC / here
    return os.path.realpath(here) == os.path.realpath(there)
