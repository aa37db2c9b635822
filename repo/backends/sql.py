"""DuckDB: the one module that imports it. Connections, and its errors said as one line.

Named for what it serves, SQL over Arrow tables and Parquet parts, not after the
library: a ``backends/duckdb.py`` would read as the library itself wherever it is
imported. DuckDB is imported inside these functions (it costs about 0.07 s), so
importing this module is free and ``ipd --help`` stays instant; for the same
reason the type aliases exist for hints only: import them under TYPE_CHECKING.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import QueryError

if TYPE_CHECKING:
    from typing import TypeAlias

    import duckdb

    Connection: TypeAlias = duckdb.DuckDBPyConnection
    Relation: TypeAlias = duckdb.DuckDBPyRelation


def connect(*, progress_bar: bool = True, parquet_metadata_cache: bool = False) -> Connection:
    """A new in-memory database.

    ``progress_bar=False`` where a query may run long while ``--json`` is printed: DuckDB
    draws the bar on stdout. ``parquet_metadata_cache`` where the same parts are queried
    again and again: each query binds their view anew, reading every footer.
    """
    import duckdb

    con = duckdb.connect()
    if not progress_bar:
        con.sql("SET enable_progress_bar = false")
    if parquet_metadata_cache:
        con.sql("SET parquet_metadata_cache = true")
    return con


def query(text: str, params: dict[str, Any] | None = None) -> Relation:
    """``text`` on DuckDB's default connection: for a small expression, where opening a database
    (about 10 ms) would cost more than the query."""
    import duckdb

    return duckdb.sql(text, params=params)


def is_database_error(exc: BaseException) -> bool:
    """Whether DuckDB raised ``exc``; asked on any failure, so it never loads DuckDB itself."""
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(exc, duckdb.Error)


def message(what: str, exc: BaseException) -> str:
    """``reading t@v2: Conversion Error: Could not convert string 'x' to INT32``: DuckDB's first line
    only, as what follows it quotes ipd's SQL, which says nothing to the user."""
    said = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return f"{what}: {said}"


@contextmanager
def translated(what: str) -> Iterator[None]:
    """A DuckDB error inside the block becomes a ``QueryError`` that says what was being done."""
    try:
        yield
    except Exception as exc:
        if not is_database_error(exc):
            raise
        raise QueryError(message(what, exc)) from exc
