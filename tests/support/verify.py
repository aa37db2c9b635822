"""The repository ``ipd verify`` checks: its version records, and tampering with a file in place."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def record(root: Path, version: str) -> dict:
    return json.loads((root / f"datasets/t/versions/{version}.json").read_text())


def flip_a_byte(path: Path, offset: int = 100) -> str:
    """Change one byte in place (DVC keeps its objects read-only); returns the file's new MD5."""
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return hashlib.md5(bytes(data)).hexdigest()
