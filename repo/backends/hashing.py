"""Hashes of whole files, read in blocks: deliveries, Parquet parts, release files."""

from __future__ import annotations

import hashlib
from pathlib import Path


def _hash(path: Path, digest) -> str:
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    return _hash(path, hashlib.sha256())


def sha256_if_any(path: Path) -> str | None:
    """The SHA-256 of a record that may not be there (a parent's PROV record, a suite): None if it is not."""
    return sha256_of(path) if path.is_file() else None


def md5_of(path: Path) -> str:
    """The hash DVC stores a file under."""
    return _hash(path, hashlib.md5())


def sha256_of_delivery(path: Path) -> str:
    """A delivery's SHA-256: a file's own; a folder's (the tables of a trial, a file each) that of its
    manifest, one line a file in name order: ``SHA-256  relative/path``, as ``sha256sum`` writes it."""
    if not path.is_dir():
        return sha256_of(path)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    manifest = "".join(f"{sha256_of(p)}  {p.relative_to(path).as_posix()}\n" for p in files)
    return hashlib.sha256(manifest.encode()).hexdigest()


def size_of_delivery(path: Path) -> int:
    """A delivery's size in bytes: a folder's, the sum of its files'."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
