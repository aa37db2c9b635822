"""The diff benchmark's yardstick: a full DuckDB join of two versions' data, every column compared.

``python -m bench.duckjoin OLD.json NEW.json`` (each a JSON list of Parquet
files) runs one FULL OUTER JOIN on the key over all the rows of both versions
and returns every changed, added or removed record; prints counts and the
query's own time as JSON.
"""

from __future__ import annotations

import json
import sys
import time

KEY = "pid"


def main(argv: list[str]) -> None:
    start = time.perf_counter()
    import duckdb

    old, new = (json.loads(open(path).read()) for path in argv[:2])
    con = duckdb.connect()
    con.sql("SELECT * FROM read_parquet($files)", params={"files": old}).create_view("o")
    con.sql("SELECT * FROM read_parquet($files)", params={"files": new}).create_view("n")
    columns = [c for c in con.sql("SELECT * FROM n").columns if c != KEY]
    differs = [f'o."{c}" IS DISTINCT FROM n."{c}"' for c in columns]
    flags = ", ".join(f'({d}) AS "d_{c}"' for d, c in zip(differs, columns))
    imported = time.perf_counter()
    rows = con.sql(
        f'SELECT o."{KEY}" AS old_key, n."{KEY}" AS new_key, {flags} '
        f'FROM o FULL OUTER JOIN n ON o."{KEY}" = n."{KEY}" '
        f'WHERE o."{KEY}" IS NULL OR n."{KEY}" IS NULL OR {" OR ".join(differs)}').fetchall()
    done = time.perf_counter()
    cells = sum(sum(bool(flag) for flag in row[2:]) for row in rows if row[0] is not None and row[1] is not None)
    print(json.dumps({"records_changed": len(rows), "cells": cells,
                      "added": sum(row[0] is None for row in rows), "removed": sum(row[1] is None for row in rows),
                      "query_seconds": done - imported, "import_seconds": imported - start}))


if __name__ == "__main__":
    main(sys.argv[1:])
