"""Where ``ipd check``'s time goes: each SQL statement it runs, timed alone in its own process.

``python -m bench.checkprofile REPOSITORY [TRIAL]`` runs the check once in
this process with DuckDB's ``sql`` wrapped to record every statement and the
ipd function that issued it, then runs each statement again in a fresh
process over the same parts (query time and that process's peak memory).
Not part of ``make bench``: a tool for whoever makes the check faster.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .measure import Series, mib, python, run
from .report import table

PARAMS_SQL = "SELECT * FROM read_parquet($files, union_by_name = true)"


def trace(root: Path, trial: str) -> tuple[list[dict], float]:
    import duckdb

    from repo import open as open_repository
    from repo.checks.run import check
    from repo.repository.refs import Ref

    statements: list[dict] = []
    original = duckdb.DuckDBPyConnection.sql

    def sql(self, query, *args, **kwargs):
        frames = [f"{Path(f.filename).stem}.{f.name}" for f in traceback.extract_stack()[:-1] if "/repo/" in f.filename]
        caller = " > ".join(frames[-2:]) or "?"
        statements.append({"caller": caller, "sql": query, "params": kwargs.get("params")})
        return original(self, query, *args, **kwargs)

    duckdb.DuckDBPyConnection.sql = sql
    try:
        start = time.perf_counter()
        check(open_repository(root), Ref.parse(trial), cache=False)  # the work, not a kept report
        return statements, time.perf_counter() - start
    finally:
        duckdb.DuckDBPyConnection.sql = original


def one(files_json: str, sql: str) -> None:
    """In a fresh process: the view ``data`` over the parts, then ``sql`` alone, timed."""
    import duckdb

    con = duckdb.connect()
    files = json.loads(Path(files_json).read_text())
    con.sql("SET VARIABLE ipd_parts = $files", params={"files": files})  # what the check's statements read
    con.sql(PARAMS_SQL, params={"files": files}).create_view("data")
    start = time.perf_counter()
    con.sql(sql).fetchall()
    print(json.dumps({"seconds": time.perf_counter() - start}))


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--one":
        one(argv[1], argv[2])
        return
    root, trial = Path(argv[0]), argv[1] if len(argv) > 1 else "trial"
    statements, total = trace(root, trial)
    view = next(s for s in statements if s["params"] and "files" in s["params"])
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump([str(f) for f in view["params"]["files"]], handle)
    rows = []
    from repo.checks.run import PARTS

    for statement in statements:
        if statement is view or statement["params"] or statement["sql"].strip() == f"SELECT * FROM {PARTS}":
            continue  # the parts, and the view over them, which ``one`` sets up itself
        series = Series(statement["caller"])
        for _ in range(2):
            series.add(run(python("bench.checkprofile", "--one", handle.name, statement["sql"])))
        query = json.loads(series.runs[-1].stdout)["seconds"]
        rows.append([statement["caller"], f"{query:.2f}", mib(series.peak_bytes),
                     " ".join(statement["sql"].split())[:70]])
    print(table(f"ipd check {trial}: {total:.2f} s in process (imports excluded); each statement alone:",
                ["issued by", "query s", "peak RSS", "SQL"], rows))


if __name__ == "__main__":
    main(sys.argv[1:])
