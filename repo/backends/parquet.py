"""Parquet files: the one module that reads and writes them (Arrow stays the data model everywhere).

Parts are written with fixed settings, so the same rows give the same bytes: the MD5
of each part is recorded in its version and is the name DVC stores it under, so a
change to these settings changes every part written after it. pyarrow.parquet is
imported inside these functions, so importing this module costs nothing. Queries
over parts (``read_parquet()`` in SQL) are DuckDB's: see ``sql``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

SETTINGS: dict[str, Any] = {"compression": "zstd", "write_statistics": True}


def read_schema(path: Path) -> pa.Schema:
    """The Arrow schema of a file, from its footer alone."""
    import pyarrow.parquet as pq

    return pq.read_schema(path)


def read(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A file's rows (only ``columns``, if given), through pyarrow's dataset reader."""
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns)


def read_file(path: Path) -> pa.Table:
    """A file's rows, row group by row group, without the dataset reader: that one imports pandas,
    which costs a commit's rewriting of a few parts more than the reading."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read()


def encode(table: pa.Table) -> bytes:
    """``table`` as the bytes of a Parquet file, so they can be hashed as they are written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **SETTINGS)
    return sink.getvalue().to_pybytes()


def write(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path``, with the same settings as ``encode``."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, **SETTINGS)


def read_bytes(data: bytes) -> pa.Table:
    """The rows of a Parquet file held in memory (an object read from a remote or from git)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(data))
