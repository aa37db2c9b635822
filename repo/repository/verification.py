"""Checking data against their records: part MD5s, then the row fingerprint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..backends import parquet
from ..backends.hashing import md5_of
from ..backends.sql import connect
from ..errors import IntegrityError
from .fingerprint import EMPTY, digests_by, fingerprint

if TYPE_CHECKING:
    from .records import VersionRecord

FILE_COLUMN = "__ipd_file"


def check_parts(record: VersionRecord, files: list[Path]) -> None:
    """Raise IntegrityError naming the first part, or the fingerprint, that does not match."""
    label = f"{record.trial}@{record.version}"
    for part, path in zip(record.parts, files, strict=True):
        actual = md5_of(path)
        if actual != part.md5:
            raise IntegrityError(f"{label}: part {part.name} has MD5 {actual}, the version record says {part.md5}")
    schema = parquet.read_schema(files[0])
    con = connect()
    con.sql(f"SELECT * FROM read_parquet($files, filename = '{FILE_COLUMN}')",
            params={"files": [str(p) for p in files]}).create_view("parts")
    digests = digests_by(con, "parts", schema, group=FILE_COLUMN)
    total = EMPTY
    for part, path in zip(record.parts, files):
        digest = digests.get(str(path), EMPTY)
        if f"{digest.total:032x}" != part.sum or digest.rows != part.rows:
            raise IntegrityError(f"{label}: the rows of part {part.name} do not match the version record")
        total = total + digest
    if fingerprint(schema, total) != record.fingerprint:
        raise IntegrityError(f"{label}: the data do not match the recorded fingerprint {record.fingerprint}")
