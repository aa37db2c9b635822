"""The baseline of the check benchmark: a plain DuckDB scan computing the six answers in one query.

Run in its own process (``python -m bench.duckscan FILES.json``) so its time
includes starting Python and importing DuckDB, as ``ipd check``'s does, and
its peak memory is its own. It prints the answers and the query's own time as
JSON. Only DuckDB is imported here.
"""

from __future__ import annotations

import json
import sys
import time

# One aggregate per expectation of bench.workspace.SUITE: how many rows break it.
ANSWERS = {
    "not_null(pid)": "count(*) FILTER (WHERE pid IS NULL)",
    "unique(pid)": "count(pid) - count(DISTINCT pid)",
    "between(age)": "count(*) FILTER (WHERE age IS NOT NULL AND NOT (age BETWEEN 18 AND 90))",
    "in_set(arm)": "count(*) FILTER (WHERE arm IS NOT NULL AND arm NOT IN ('A', 'B'))",
    "in_set(sex)": "count(*) FILTER (WHERE sex IS NOT NULL AND sex NOT IN ('F', 'M'))",
    "between(weight)": "count(*) FILTER (WHERE weight IS NOT NULL AND NOT (weight BETWEEN 30 AND 200))",
}


def query(files: list[str]) -> tuple[str, dict]:
    select = ", ".join(f'{sql} AS "{name}"' for name, sql in ANSWERS.items())
    return f"SELECT count(*) AS rows, {select} FROM read_parquet($files)", {"files": files}


def main(argv: list[str]) -> None:
    start = time.perf_counter()
    import duckdb

    files = json.loads(open(argv[0]).read())
    sql, params = query(files)
    imported = time.perf_counter()
    con = duckdb.connect()
    row = con.sql(sql, params=params).fetchall()[0]
    done = time.perf_counter()
    names = ["rows", *ANSWERS]
    print(json.dumps({"answers": dict(zip(names, row)), "query_seconds": done - imported,
                      "import_seconds": imported - start}))


if __name__ == "__main__":
    main(sys.argv[1:])
