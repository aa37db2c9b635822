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
