"""Wide deliveries: clinical form exports have thousands of columns.

A 3-row delivery of 3,000 columns ingests, its dictionary describes every
column exactly, and the statistics computed a batch of columns at a time are
the ones computed column by column. (The 5,000-column and 100,000 × 2,000
targets are measured by ``make bench BENCH=wide``, not here.)
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

from repo.ingest.columnstats import BATCH, Columns, column_stats, value_counts

COLUMNS = 3_000
FORMULAS = "text: cells a spreadsheet would run as formulas"
ROWS = 3


def item(i: int, row: int) -> str:
    """Cell ``row`` (0–2) of item column ``i``: five kinds of column, each with a gap somewhere."""
    kind = i % 5
    if row == i % 3:
        return ""
    return [str(i % 7 + row), f"{i + row / 4:.2f}", ["yes", "no", "unknown"][(i + row) % 3],
            f"2021-03-{row + 1:02d}", "=SUM(A1)" if row == 2 else "plain"][kind]


def name(i: int) -> str:
    return f"f{i // 40:03d}_q{i:04d}"


@pytest.fixture(scope="module")
def wide_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("wide") / "form_export.csv"
    lines = [",".join(["pid", *(name(i) for i in range(1, COLUMNS))])]
    lines += [",".join([str(101 + row), *(item(i, row) for i in range(1, COLUMNS))]) for row in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_delivery_of_3000_columns_ingests_with_every_column_described(tmp_repo, wide_csv):
    tmp_repo.ingest("forms", wide_csv, "--key", "pid")

    metadata = yaml.safe_load((tmp_repo.root / "datasets/forms/dataset.yaml").read_text())
    entries = {e["name"]: e for e in metadata["columns"]}
    assert len(entries) == COLUMNS
    assert list(entries)[:3] == ["pid", "f000_q0001", "f000_q0002"]
    # q0005 (kind 0): 6, 5 and a gap in row 2 (5 % 3); integers, so ranged and a value set
    q5 = entries["f000_q0005"]
    assert (q5["type"], q5["missing"], q5["distinct"], q5["min"], q5["max"]) == ("integer", 1, 2, 5, 6)
    assert q5["values"] == [{"value": 5, "count": 1}, {"value": 6, "count": 1}]
    # q1001 (kind 1): a gap in row 2 (1001 % 3), decimals 1001.00 and 1001.25
    assert entries["f025_q1001"]["type"] == "number"
    assert (entries["f025_q1001"]["missing"], entries["f025_q1001"]["min"], entries["f025_q1001"]["max"]) == \
        (1, 1001.0, 1001.25)
    # q2998 (kind 3): dates, a gap in row 1 (2998 % 3)
    assert (entries["f074_q2998"]["type"], entries["f074_q2998"]["min"], entries["f074_q2998"]["max"]) == \
        ("date", "2021-03-01", "2021-03-03")
    # q2994 (kind 4): text, a gap in row 0 (2994 % 3); a formula in row 2
    assert [(v["value"], v["count"]) for v in entries["f074_q2994"]["values"]] == [("=SUM(A1)", 1), ("plain", 1)]

    check = tmp_repo.ipd("check", "forms", "--json", "--repo", tmp_repo.root)
    assert check.exit_code == 1, check.stderr  # only the formula check fails: every =SUM(A1)
    report = json.loads(check.stdout)
    assert [r["name"] for r in report["results"] if not r["success"]] == [FORMULAS]
    [formulas] = [r for r in report["results"] if r["name"] == FORMULAS]
    text_with_formula = [name(i) for i in range(1, COLUMNS) if i % 5 == 4 and i % 3 != 2]
    assert formulas["details"] == {"cells": {column: 1 for column in text_with_formula}}
    assert formulas["unexpected_keys"] == [103]


def _table() -> pa.Table:
    """Columns of several types, with gaps, repeats and an all-missing column."""
    n = 50
    columns = {
        **{f"i{k}": pa.array([None if r % (k + 2) == 0 else (r * k) % 9 for r in range(n)], pa.int64())
           for k in range(7)},
        **{f"d{k}": pa.array([None if r % 5 == k else r / (k + 1) for r in range(n)], pa.float64())
           for k in range(3)},
        **{f"s{k}": pa.array([None if r == k else f"v{(r * (k + 1)) % 4}" for r in range(n)]) for k in range(4)},
        "day": pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=r % 11) for r in range(n)]),
        "gone": pa.array([None] * n, pa.int64()),
    }
    return pa.table(columns)


def _one_by_one(table: pa.Table) -> dict[str, tuple]:
    out = {}
    for column_name in table.column_names:
        column = table.column(column_name).drop_null()
        bounds = pc.min_max(column) if len(column) else None
        ranged = not pa.types.is_string(column.type)
        low = bounds["min"].as_py() if bounds and ranged else None
        high = bounds["max"].as_py() if bounds and ranged else None
        out[column_name] = (table.num_rows - len(column), len(pc.unique(column)), low, high)
    return out


@pytest.mark.parametrize("size", [1, 3, BATCH])
def test_batched_statistics_are_the_column_by_column_ones(size):
    table = _table()
    con = duckdb.connect()
    con.register("t", table)
    ranged = {f.name for f in table.schema if not pa.types.is_string(f.type)}

    stats = column_stats(Columns(con, "t", table), list(table.schema), table.num_rows, ranged, size=size)
    counts = value_counts(Columns(con, "t", table), list(table.schema), size=size)

    assert stats == _one_by_one(table)
    for column_name in table.column_names:
        expected = pc.value_counts(table.column(column_name).drop_null()).to_pylist()
        assert counts[column_name] == sorted((c["values"], c["counts"]) for c in expected)
