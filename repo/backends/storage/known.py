"""Storing a DVC-tracked directory whose every file's MD5 ipd already knows.

A corrected version rewrites a few parts of a directory of a thousand. ipd
knows the MD5 of every part: the rewritten ones from writing them, the others
from the parent's record. Asking DVC to ``add`` and ``push`` the directory
makes it open the repository, look every file up in its state database and
collect its index twice, which costs more than everything else a commit does.
Here the directory is stored with DVC's own object library (``dvc_data``):
the new parts and the directory's ``.dir`` listing go into the cache, the
``.dvc`` pointer is rewritten, and the new objects are copied to the remote.
The result is what ``dvc add`` and ``dvc push`` would leave.

This path applies only to the default layout: the cache in ``.dvc/cache``
with DVC's default link types, and a local-directory remote. Anything else
(a configured cache, an S3 or SSH remote) goes through DVC itself
(``storage.store``), as does anything ipd cannot vouch for.
"""

from __future__ import annotations

import configparser
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from ...errors import IntegrityError, StorageError
from ..hashing import md5_of
from . import RESTRICTED_REMOTE, check_remote, is_local, remote_directory

CACHE = Path(".dvc") / "cache" / "files" / "md5"
REMOTE_FILES = Path("files") / "md5"


@dataclass(frozen=True)
class KnownFile:
    name: str  # relative to the directory
    md5: str
    size: int


def applies(root: Path, remote: str = RESTRICTED_REMOTE) -> bool:
    """The default cache (no ``[cache]`` settings at any of DVC's config levels) and a local-directory remote."""
    from dvc.dirs import global_config_dir, system_config_dir

    for file in (Path(system_config_dir()) / "config", Path(global_config_dir()) / "config",
                 root / ".dvc" / "config", root / ".dvc" / "config.local"):
        config = configparser.ConfigParser()
        config.read(file)
        if config.has_section("cache") and config.options("cache"):
            return False
    return is_local(check_remote(root, remote))


def hash_in_background(folder: Path, names: list[str]) -> Future[dict[str, str | None]]:
    """MD5s of the files of ``folder`` (None where unreadable), computed while the caller works on."""
    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(_hash_all, folder, names)
    executor.shutdown(wait=False)
    return future


def _hash_all(folder: Path, names: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = md5_of(folder / name)
        except OSError:
            found[name] = None
    return found


def store(root: Path, target: str, files: list[KnownFile], check: Callable[[], None] = lambda: None,
          remote: str = RESTRICTED_REMOTE) -> None:
    """Put the files of ``root/target`` (as listed, with their MD5s) in the cache, point
    ``target.dvc`` at them, run ``check``, and copy what the remote lacks to it.

    The caller has made sure the work tree holds exactly ``files``; every file whose
    object the cache lacks is added from the work tree, after checking its MD5.
    """
    from dvc_data.hashfile.db.local import LocalHashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    fs = LocalFileSystem()
    cache = LocalHashFileDB(fs, str(root / CACHE))
    folder = root / target
    new = [f for f in files if not Path(cache.oid_to_path(f.md5)).exists()]
    for f in new:
        if md5_of(folder / f.name) != f.md5:
            raise IntegrityError(f"{target}/{f.name} changed while it was being stored; run the command again")
        cache.add(str(folder / f.name), fs, f.md5)
    tree_oid = _add_tree(cache, files)
    _write_pointer(root / f"{target}.dvc", tree_oid, files)
    check()
    _push(root, cache, [tree_oid, *(f.md5 for f in files)], remote)


def _add_tree(cache, files: list[KnownFile]) -> str:
    from dvc_data.hashfile.db import add_update_tree
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta
    from dvc_data.hashfile.tree import Tree

    tree = Tree()
    for f in files:
        tree.add(tuple(f.name.split("/")), Meta(size=f.size), HashInfo("md5", f.md5))
    tree.digest()
    add_update_tree(cache, tree)
    return tree.oid


def _write_pointer(pointer: Path, tree_oid: str, files: list[KnownFile]) -> None:
    """Rewrite the ``.dvc`` file as ``dvc add`` does: the directory's ``.dir`` hash, size and count."""
    try:
        data = yaml.safe_load(pointer.read_text())
        out = data["outs"][0]
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError) as exc:
        raise StorageError(f"{pointer.name}: cannot read the DVC pointer ({exc})") from exc
    out.update({"md5": tree_oid, "size": sum(f.size for f in files), "nfiles": len(files)})
    pointer.write_text(yaml.safe_dump(data, sort_keys=False))


def _push(root: Path, cache, oids: list[str], remote: str) -> None:
    from dvc_data.hashfile.db.local import LocalHashFileDB

    url = check_remote(root, remote)
    store = LocalHashFileDB(cache.fs, str(remote_directory(root, remote) / REMOTE_FILES))
    try:
        for oid in dict.fromkeys(oids):
            if not Path(store.oid_to_path(oid)).exists():
                store.add(cache.oid_to_path(oid), cache.fs, oid)
    except OSError as exc:
        raise StorageError(f"pushing to the DVC remote {url} failed: {exc}") from exc
