"""What one file of the catalogue holds, read as the audit needs it: text, and tables where it is one.

A file is recognised by its bytes, not its name (a remote's objects have no
names): Parquet by its magic (``PAR1`` at both ends), read with pyarrow and
every distinct value rendered; a SAS transport file by its header, searched as
raw bytes for text and, where it reads, as a table too; a CSV by its name, or
for an unnamed object by its first lines, searched as text and read as a table;
anything else as UTF-8 text (undecodable bytes replaced). Compressed archives
are not opened.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..backends import formats, parquet
from ..errors import RepoError
from .matching import table_text

if TYPE_CHECKING:
    import pyarrow as pa

PARQUET = b"PAR1"
XPT = b"HEADER RECORD*******LIB"
TABLE_SUFFIXES = {".csv": ".csv", ".tsv": ".tsv", ".xpt": ".xpt"}
SNIFFED_LINES = 5


@dataclass
class Haystack:
    text: str
    tables: list[pa.Table] = field(default_factory=list)
    is_table: bool = False  # a data table: shifted dates are expected in it
    unreadable: str | None = None  # why a file that looks like a table could not be read as one


def read(data: bytes, name: str | None) -> Haystack:
    """``data`` as text and tables; ``name`` is its path in the catalogue, when one is known."""
    if data[:4] == PARQUET and data[-4:] == PARQUET:
        try:
            table = parquet.read_bytes(data)
        except Exception as exc:  # pyarrow raises several kinds for a damaged file
            return Haystack(data.decode("utf-8", errors="replace"), [], True, f"not readable as Parquet ({exc})")
        return Haystack(table_text(table), [table], True)
    if data.startswith(XPT):
        return _read_table(data, ".xpt", data.decode("latin-1"))
    text = data.decode("utf-8", errors="replace")
    suffix = PurePosixPath(name).suffix.lower() if name else ""
    if suffix in (".csv", ".tsv") or (not name and _looks_like_csv(text)):
        return _read_table(data, suffix or ".csv", text)
    return Haystack(SIZES_YAML.sub(r"\1 0", SIZES_JSON.sub(r"\1 0", text)))


# The sizes package metadata and DVC pointers give files (Frictionless ``bytes``, RO-Crate ``contentSize``, a
# ``.dvc`` file's ``size`` and ``nfiles``): numbers of the package, not of any participant, which a five-digit
# key matches by chance (a CSV of 50,659 bytes, participant 50659). They are not read as values.
SIZES_JSON = re.compile(r'("(?:bytes|contentSize)"\s*:\s*)"?[0-9]+"?')
SIZES_YAML = re.compile(r"(?m)^(\s*(?:-\s+)?(?:size|nfiles):)\s*[0-9]+[ \t]*$")


def _read_table(data: bytes, suffix: str, text: str) -> Haystack:
    with tempfile.TemporaryDirectory(prefix="ipd-audit-") as scratch:
        path = Path(scratch) / f"object{suffix}"
        path.write_bytes(data)
        try:
            table = formats.read(path).table
        except RepoError as exc:
            return Haystack(text, [], True, str(exc).replace(str(path), "the file"))
    return Haystack(text + "\n" + table_text(table), [table], True)


def _looks_like_csv(text: str) -> bool:
    lines = [line for line in text[:65536].splitlines()[:SNIFFED_LINES] if line.strip()]
    commas = {line.count(",") for line in lines}
    return len(lines) >= 2 and len(commas) == 1 and commas.pop() > 0
