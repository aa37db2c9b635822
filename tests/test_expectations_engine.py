"""ipd's SQL evaluation of expectations against GX's own pandas engine, case by case.

GX is the reference for what an expectation means; ``sqlsuite`` re-implements
the common types as DuckDB aggregates. Every case below runs through both,
over the same rows (a DuckDB view and the pandas frame ipd would give GX),
and must reach the same verdict, the same unexpected count, the same keys
and the same element/missing counts. GX runs once for all cases (one suite),
so the module costs one GX import and one validation.

A few cases have no GX reference because GX 1.24's pandas engine cannot
compare them (a date column against a date-time bound and the reverse,
``in_set`` of a date column against ISO strings, the minimum of a date column
with missing values): those check sqlsuite's own answer, worked out here by
hand.
"""

from __future__ import annotations

import datetime as dt
import math
import random

import duckdb
import pyarrow as pa
import pytest

from repo.checks import gxsuite, sqlsuite
from repo.errors import InvalidInput

KEY = "pid"
N = 120
VISITS_FROM = dt.datetime(2020, 1, 1)


def _trial(n: int = N, seed: int = 175) -> pa.Table:
    """Participants in no particular order, with missing values (and NaN) in most columns."""
    rng = random.Random(seed)
    numbers = rng.sample(range(1, 10_000), n)
    randomised = [None if i % 11 == 4 else dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 800))
                  for i in range(n)]
    columns = {
        KEY: [f"P{k:04d}" for k in numbers],
        "age": [None if i % 17 == 3 else rng.randint(16, 85) for i in range(n)],
        "score": [rng.randint(0, 9) for _ in range(n)],
        "weight": [math.nan if i % 23 == 5 else None if i % 19 == 7 else round(rng.uniform(40, 60), 1)
                   for i in range(n)],
        "arm": [None if i % 13 == 0 else rng.choice(["A", "A", "B", "B", "C"]) for i in range(n)],
        "code": [f"{rng.choice(['AB', 'CD', 'xy'])}-{rng.randint(0, 1100):03d}" if i % 7 else None
                 for i in range(n)],
        "site": [rng.randint(1, 4) for _ in range(n)],
        "randomised": randomised,
        "death": [None if d is None or i % 3 else d + dt.timedelta(days=rng.randint(-20, 600))
                  for i, d in enumerate(randomised)],
        "visit": [None if i % 9 == 2 else VISITS_FROM + dt.timedelta(hours=rng.choice([0, 12, 30, 5000, 9000]))
                  for i in range(n)],
        "flag": [rng.choice([True, False, None]) for _ in range(n)],
        "nothing": [None] * n,
        "lab": [None] * n,
    }
    types = {KEY: pa.string(), "age": pa.int64(), "score": pa.int64(), "weight": pa.float64(),
             "arm": pa.string(), "code": pa.string(), "site": pa.int64(), "randomised": pa.date32(),
             "death": pa.date32(), "visit": pa.timestamp("us"), "flag": pa.bool_(), "nothing": pa.string(),
             "lab": pa.float64()}
    return pa.table({name: pa.array(values, types[name], from_pandas=True) for name, values in columns.items()})


TRIAL = _trial()
COLUMNS = TRIAL.column_names

E = tuple[str, dict]
CASES: dict[str, E] = {
    # null / not null: every row counts, NaN is missing
    "not_null-key": ("expect_column_values_to_not_be_null", {"column": KEY}),
    "not_null-fails": ("expect_column_values_to_not_be_null", {"column": "age"}),
    "not_null-nan": ("expect_column_values_to_not_be_null", {"column": "weight"}),
    "not_null-mostly-pass": ("expect_column_values_to_not_be_null", {"column": "age", "mostly": 0.9}),
    "not_null-mostly-exact": ("expect_column_values_to_not_be_null", {"column": "age", "mostly": 113 / 120}),
    "not_null-mostly-fail": ("expect_column_values_to_not_be_null", {"column": "arm", "mostly": 0.95}),
    "null-pass": ("expect_column_values_to_be_null", {"column": "nothing"}),
    "null-fails": ("expect_column_values_to_be_null", {"column": "death"}),
    "null-mostly": ("expect_column_values_to_be_null", {"column": "death", "mostly": 0.6}),
    # unique: missing values skipped, every copy of a repeat is unexpected
    "unique-key": ("expect_column_values_to_be_unique", {"column": KEY}),
    "unique-int": ("expect_column_values_to_be_unique", {"column": "age"}),
    "unique-float": ("expect_column_values_to_be_unique", {"column": "weight"}),
    "unique-string": ("expect_column_values_to_be_unique", {"column": "code"}),
    "unique-date": ("expect_column_values_to_be_unique", {"column": "randomised"}),
    "unique-all-missing": ("expect_column_values_to_be_unique", {"column": "nothing"}),
    "unique-mostly": ("expect_column_values_to_be_unique", {"column": "code", "mostly": 0.5}),
    # between
    "between-pass": ("expect_column_values_to_be_between", {"column": "age", "min_value": 16, "max_value": 85}),
    "between-fails": ("expect_column_values_to_be_between", {"column": "age", "min_value": 18, "max_value": 80}),
    "between-min-only": ("expect_column_values_to_be_between", {"column": "age", "min_value": 30}),
    "between-max-only-strict": ("expect_column_values_to_be_between",
                                {"column": "score", "max_value": 8, "strict_max": True}),
    "between-strict-both": ("expect_column_values_to_be_between",
                            {"column": "score", "min_value": 0, "max_value": 9,
                             "strict_min": True, "strict_max": True}),
    "between-strict-min-only": ("expect_column_values_to_be_between",
                                {"column": "score", "min_value": 0, "strict_min": True}),
    "between-float-bounds": ("expect_column_values_to_be_between",
                             {"column": "weight", "min_value": 42.5, "max_value": 57.3}),
    "between-nan-ignored": ("expect_column_values_to_be_between",
                            {"column": "weight", "min_value": 40, "max_value": 60}),
    "between-mostly-pass": ("expect_column_values_to_be_between", {"column": "age", "min_value": 20, "mostly": 0.8}),
    "between-mostly-fail": ("expect_column_values_to_be_between", {"column": "age", "min_value": 60, "mostly": 0.8}),
    "between-dates": ("expect_column_values_to_be_between",
                      {"column": "randomised", "min_value": "2019-03-01", "max_value": "2020-12-31"}),
    "between-dates-strict": ("expect_column_values_to_be_between",
                             {"column": "randomised", "min_value": "2019-01-01", "strict_min": True}),
    "between-datetimes": ("expect_column_values_to_be_between",
                          {"column": "visit", "min_value": "2020-01-01T12:00:00", "max_value": "2020-08-01 00:00:00"}),
    "between-datetimes-strict": ("expect_column_values_to_be_between",
                                 {"column": "visit", "max_value": "2020-01-02T06:00:00", "strict_max": True}),
    "between-all-missing": ("expect_column_values_to_be_between", {"column": "lab", "min_value": 1}),
    # in set / not in set
    "in_set-fails": ("expect_column_values_to_be_in_set", {"column": "arm", "value_set": ["A", "B"]}),
    "in_set-pass": ("expect_column_values_to_be_in_set", {"column": "arm", "value_set": ["A", "B", "C"]}),
    "in_set-empty": ("expect_column_values_to_be_in_set", {"column": "arm", "value_set": []}),
    "in_set-with-none": ("expect_column_values_to_be_in_set", {"column": "arm", "value_set": ["A", None]}),
    "in_set-int": ("expect_column_values_to_be_in_set", {"column": "site", "value_set": [1, 2, 3]}),
    "in_set-int-with-nulls": ("expect_column_values_to_be_in_set", {"column": "age", "value_set": list(range(16, 60))}),
    "in_set-int-floats": ("expect_column_values_to_be_in_set", {"column": "score", "value_set": [1.0, 2.0, 2.5, 3]}),
    "in_set-float": ("expect_column_values_to_be_in_set", {"column": "weight", "value_set": [45.5, 50.0, 51]}),
    "in_set-bool": ("expect_column_values_to_be_in_set", {"column": "flag", "value_set": [True]}),
    "in_set-bool-pass": ("expect_column_values_to_be_in_set", {"column": "flag", "value_set": [True, False]}),
    "in_set-timestamps": ("expect_column_values_to_be_in_set",
                          {"column": "visit", "value_set": ["2020-01-01", "2020-01-01T12:00:00"]}),
    "in_set-mostly": ("expect_column_values_to_be_in_set", {"column": "arm", "value_set": ["A", "B"], "mostly": 0.7}),
    "not_in_set-fails": ("expect_column_values_to_not_be_in_set", {"column": "arm", "value_set": ["C"]}),
    "not_in_set-pass": ("expect_column_values_to_not_be_in_set", {"column": "arm", "value_set": ["D", "E"]}),
    "not_in_set-empty": ("expect_column_values_to_not_be_in_set", {"column": "arm", "value_set": []}),
    "not_in_set-int": ("expect_column_values_to_not_be_in_set", {"column": "score", "value_set": [0, 9]}),
    "not_in_set-timestamps": ("expect_column_values_to_not_be_in_set",
                              {"column": "visit", "value_set": ["2020-01-02 06:00:00"]}),
    # regular expressions (Python's re.search in GX, RE2 in DuckDB)
    "regex-fails": ("expect_column_values_to_match_regex", {"column": "code", "regex": r"^[A-Z]{2}-\d{3}$"}),
    "regex-pass": ("expect_column_values_to_match_regex", {"column": "code", "regex": "-"}),
    "regex-search-not-match": ("expect_column_values_to_match_regex", {"column": "code", "regex": "B-[0-4]"}),
    "regex-alternation": ("expect_column_values_to_match_regex", {"column": "arm", "regex": "^(A|C)$"}),
    "regex-mostly": ("expect_column_values_to_match_regex", {"column": "code", "regex": "^(AB|CD)", "mostly": 0.6}),
    "regex-quote": ("expect_column_values_to_match_regex", {"column": "code", "regex": "'|x"}),
    # lengths
    "lengths-fails": ("expect_column_value_lengths_to_be_between", {"column": "code", "min_value": 6, "max_value": 6}),
    "lengths-pass": ("expect_column_value_lengths_to_be_between", {"column": "code", "min_value": 6, "max_value": 7}),
    "lengths-strict": ("expect_column_value_lengths_to_be_between",
                       {"column": "code", "min_value": 6, "max_value": 7, "strict_min": True}),
    "lengths-max-only": ("expect_column_value_lengths_to_be_between",
                         {"column": "arm", "max_value": 1, "strict_max": True}),
    "lengths-mostly": ("expect_column_value_lengths_to_be_between", {"column": "code", "max_value": 6, "mostly": 0.9}),
    # pairs
    "pair-dates": ("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "death", "column_B": "randomised"}),
    "pair-dates-or-equal": ("expect_column_pair_values_a_to_be_greater_than_b",
                            {"column_A": "death", "column_B": "randomised", "or_equal": True}),
    "pair-either-missing": ("expect_column_pair_values_a_to_be_greater_than_b",
                            {"column_A": "death", "column_B": "randomised",
                             "ignore_row_if": "either_value_is_missing"}),
    "pair-neither": ("expect_column_pair_values_a_to_be_greater_than_b",
                     {"column_A": "death", "column_B": "randomised", "ignore_row_if": "neither"}),
    "pair-numbers": ("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "weight", "column_B": "age"}),
    "pair-numbers-mostly": ("expect_column_pair_values_a_to_be_greater_than_b",
                            {"column_A": "age", "column_B": "score", "or_equal": True, "mostly": 0.5}),
    "pair-date-datetime": ("expect_column_pair_values_a_to_be_greater_than_b",
                           {"column_A": "visit", "column_B": "randomised"}),
    "pair-ties": ("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "site", "column_B": "score"}),
    "pair-ties-or-equal": ("expect_column_pair_values_a_to_be_greater_than_b",
                           {"column_A": "site", "column_B": "score", "or_equal": True}),
    "pair-strings": ("expect_column_pair_values_a_to_be_greater_than_b",
                     {"column_A": "code", "column_B": "arm", "ignore_row_if": "either_value_is_missing"}),
    # compound keys
    "compound-fails": ("expect_compound_columns_to_be_unique", {"column_list": ["site", "arm"]}),
    "compound-pass": ("expect_compound_columns_to_be_unique", {"column_list": [KEY, "arm"]}),
    "compound-missing-equal": ("expect_compound_columns_to_be_unique", {"column_list": ["death", "flag"]}),
    "compound-any-missing": ("expect_compound_columns_to_be_unique",
                             {"column_list": ["death", "flag"], "ignore_row_if": "any_value_is_missing"}),
    "compound-never": ("expect_compound_columns_to_be_unique",
                       {"column_list": ["death", "nothing"], "ignore_row_if": "never"}),
    "compound-mostly": ("expect_compound_columns_to_be_unique",
                        {"column_list": ["arm", "score", "site"], "mostly": 0.5}),
    # table
    "rows-equal": ("expect_table_row_count_to_equal", {"value": N}),
    "rows-equal-fails": ("expect_table_row_count_to_equal", {"value": N + 1}),
    "rows-between": ("expect_table_row_count_to_be_between", {"min_value": 100, "max_value": N}),
    "rows-between-strict": ("expect_table_row_count_to_be_between", {"max_value": N, "strict_max": True}),
    "rows-between-min-only": ("expect_table_row_count_to_be_between", {"min_value": N + 1}),
    "rows-between-open": ("expect_table_row_count_to_be_between", {}),
    "columns-exact": ("expect_table_columns_to_match_set", {"column_set": list(reversed(COLUMNS))}),
    "columns-exact-fails": ("expect_table_columns_to_match_set", {"column_set": COLUMNS[:-1] + ["extra"]}),
    "columns-subset": ("expect_table_columns_to_match_set", {"column_set": COLUMNS[:3], "exact_match": False}),
    "columns-subset-fails": ("expect_table_columns_to_match_set",
                             {"column_set": ["age", "extra"], "exact_match": False}),
    "exists": ("expect_column_to_exist", {"column": "age"}),
    "exists-not": ("expect_column_to_exist", {"column": "agee"}),
    "exists-at": ("expect_column_to_exist", {"column": "age", "column_index": 1}),
    "exists-not-at": ("expect_column_to_exist", {"column": "age", "column_index": 2}),
    "exists-at-zero": ("expect_column_to_exist", {"column": "age", "column_index": 0}),  # GX ignores index 0
    # aggregates
    "min-pass": ("expect_column_min_to_be_between", {"column": "age", "min_value": 16, "max_value": 20}),
    "min-strict-fails": ("expect_column_min_to_be_between", {"column": "age", "min_value": 18, "strict_min": True}),
    "max-float": ("expect_column_max_to_be_between", {"column": "weight", "max_value": 59}),
    "max-datetime": ("expect_column_max_to_be_between", {"column": "visit", "max_value": "2021-01-01T00:00:00"}),
    "max-datetime-fails": ("expect_column_max_to_be_between", {"column": "visit", "min_value": "2022-01-01T00:00:00"}),
    "max-all-missing": ("expect_column_max_to_be_between", {"column": "lab"}),
    "max-open": ("expect_column_max_to_be_between", {"column": "score"}),
    "mean-pass": ("expect_column_mean_to_be_between", {"column": "score", "min_value": 2, "max_value": 7}),
    "mean-fails": ("expect_column_mean_to_be_between", {"column": "age", "max_value": 30}),
    "mean-nan-skipped": ("expect_column_mean_to_be_between", {"column": "weight", "min_value": 45, "max_value": 55}),
}


def expectation(kind: str, kwargs: dict) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {}}


def connection(table: pa.Table) -> duckdb.DuckDBPyConnection:
    """A view named ``data`` over the rows, as ``ipd check`` has over the Parquet parts."""
    con = duckdb.connect()
    con.register("rows", table)
    con.sql("SELECT * FROM rows").create_view("data")
    return con


def evaluate(table: pa.Table, expectations: list[dict]) -> list:
    return sqlsuite.evaluate(connection(table), "data", table.schema, KEY, expectations)


@pytest.fixture(scope="module")
def verdicts() -> dict:
    """Both engines' results for every case; GX validates them all as one suite."""
    expectations = [expectation(*case) for case in CASES.values()]
    sql = evaluate(TRIAL, expectations)
    gx = gxsuite.run(TRIAL, KEY, expectations, "differential")
    return dict(zip(CASES, zip(sql, gx)))


def assert_same(ours, theirs) -> None:
    assert ours is not None, "sqlsuite left a supported case to GX"
    assert "exception" not in theirs.details, theirs.details["exception"]
    assert (ours.name, ours.success, ours.unexpected_count) == (theirs.name, theirs.success, theirs.unexpected_count)
    assert ours.unexpected_keys == theirs.unexpected_keys
    for figure in ("element_count", "missing_count"):
        assert ours.details.get(figure) == theirs.details.get(figure), figure
    assert ours.details.get("unexpected_percent") == pytest.approx(theirs.details.get("unexpected_percent"))
    assert ours.details.get("mismatched") == theirs.details.get("mismatched")
    observed = theirs.details.get("observed_value")
    if isinstance(observed, float):
        assert ours.details.get("observed_value") == pytest.approx(observed)
    else:
        assert ours.details.get("observed_value") == observed
    assert (ours.engine, theirs.engine) == ("duckdb", "gx")


@pytest.mark.parametrize("case", list(CASES))
def test_same_verdict_as_gx(case, verdicts):
    ours, theirs = verdicts[case]
    assert_same(ours, theirs)


def test_the_cases_cover_both_verdicts_and_every_supported_type(verdicts):
    assert {CASES[c][0] for c in CASES} == sqlsuite.SUPPORTED
    failing = [ours for ours, _ in verdicts.values() if not ours.success]
    assert failing and len(failing) < len(verdicts)
    assert any(ours.unexpected_keys for ours in failing)
    assert any(ours.success and ours.unexpected_count for ours, _ in verdicts.values())  # passing by `mostly`


def test_keys_are_listed_in_key_order_up_to_the_limit(monkeypatch):
    monkeypatch.setattr(sqlsuite, "MAX_KEYS", 3)
    monkeypatch.setattr(gxsuite, "MAX_KEYS", 3)
    table = TRIAL.set_column(0, KEY, pa.array(list(range(N, 0, -1)), pa.int64()))  # integer keys, descending
    expectations = [expectation("expect_column_values_to_not_be_null", {"column": "death"}),
                    expectation("expect_column_values_to_be_in_set", {"column": "arm", "value_set": ["A"]})]
    ours = evaluate(table, expectations)
    theirs = gxsuite.run(table, KEY, expectations, "keys")
    for mine, reference in zip(ours, theirs):
        assert_same(mine, reference)
        assert mine.unexpected_count > 3 and len(mine.unexpected_keys) == 3
        assert mine.unexpected_keys == sorted(mine.unexpected_keys) and isinstance(mine.unexpected_keys[0], int)


def test_an_empty_table_passes_row_checks_vacuously():
    empty = TRIAL.slice(0, 0)
    expectations = [expectation(*CASES[c]) for c in ("not_null-fails", "unique-int", "between-fails", "pair-dates",
                                                     "compound-fails", "rows-equal-fails", "mean-fails")]
    for ours, theirs in zip(evaluate(empty, expectations), gxsuite.run(empty, KEY, expectations, "empty")):
        assert_same(ours, theirs)


class Recording:
    """A connection that keeps the SQL it is given."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.queries = con, []

    def sql(self, query: str, **kwargs):
        self.queries.append(query)
        return self.con.sql(query, **kwargs)


def test_one_query_for_everything_and_one_more_for_distinct_values_and_the_keys():
    con = Recording(connection(TRIAL))
    cases = ("not_null-key", "in_set-pass", "rows-equal", "mean-pass", "compound-pass")
    results = sqlsuite.evaluate(con, "data", TRIAL.schema, KEY, [expectation(*CASES[c]) for c in cases])
    assert all(r.success for r in results) and len(con.queries) == 1
    results = sqlsuite.evaluate(con, "data", TRIAL.schema, KEY, [expectation(*CASES[c]) for c in cases + ("unique-key",)])
    assert all(r.success for r in results) and len(con.queries) == 3
    assert "count(DISTINCT" in con.queries[-1]
    failing = ("not_null-fails", "between-fails", "pair-dates", "compound-fails", "mean-fails", "unique-key")
    results = sqlsuite.evaluate(con, "data", TRIAL.schema, KEY, [expectation(*CASES[c]) for c in failing])
    assert not any(r.success for r in results[:-1]) and len(con.queries) == 5


def test_repeated_values_cost_one_more_query_to_count_and_one_to_list():
    """The second query only tells whether a column has repeated values (distinct < present); counting the
    rows that hold one, every copy as GX does, and listing them are two more, paid only when there are some."""
    con = Recording(connection(TRIAL))
    results = sqlsuite.evaluate(con, "data", TRIAL.schema, KEY, [expectation(*CASES["unique-int"])])
    assert not results[0].success and results[0].unexpected_count > 0 and len(con.queries) == 4


@pytest.mark.parametrize("ids", [[5, 1, 3, 3, 9, None, 2], [10**12, 1, 5, 5], [7], [None, None], [-4, -4, 2**40]])
def test_distinct_integers_counted_in_a_bitmap_or_by_hashing_agree_with_gx(ids):
    table = pa.table({KEY: pa.array(range(len(ids)), pa.int64()), "v": pa.array(ids, pa.int64())})
    expectations = [expectation("expect_column_values_to_be_unique", {"column": "v"})]
    con = Recording(connection(table))
    ours, = sqlsuite.evaluate(con, "data", table.schema, KEY, expectations)
    theirs, = gxsuite.run(table, KEY, expectations, "unique")
    assert_same(ours, theirs)
    narrow = ids != [None, None] and max(i for i in ids if i is not None) - min(i for i in ids if i is not None) < 10**6
    assert ("bitstring_agg" in con.queries[1]) == narrow


# -- where GX 1.24 gives no answer: sqlsuite compares dates and times as such --------------------

def rows(predicate) -> list:
    """Keys of the rows where ``predicate(row)`` holds, in key order."""
    return sorted(r[KEY] for r in TRIAL.to_pylist() if predicate(r))


def test_a_date_column_in_a_set_of_iso_dates():
    first = TRIAL.column("randomised").drop_null()[0].as_py()
    [result] = evaluate(TRIAL, [expectation("expect_column_values_to_be_in_set",
                                            {"column": "randomised", "value_set": [first.isoformat()]})])
    expected = rows(lambda r: r["randomised"] is not None and r["randomised"] != first)
    assert (result.success, result.unexpected_count, result.unexpected_keys) == (False, len(expected), expected)


def test_a_date_column_against_a_date_time_bound():
    bound = dt.datetime(2020, 1, 1, 12)
    [result] = evaluate(TRIAL, [expectation("expect_column_values_to_be_between",
                                            {"column": "randomised", "min_value": bound.isoformat()})])
    expected = rows(lambda r: r["randomised"] is not None and dt.datetime.combine(r["randomised"], dt.time()) < bound)
    assert (result.unexpected_count, result.unexpected_keys) == (len(expected), expected)


def test_a_date_time_column_against_a_date_bound():
    [result] = evaluate(TRIAL, [expectation("expect_column_values_to_be_between",
                                            {"column": "visit", "max_value": "2020-01-01"})])
    expected = rows(lambda r: r["visit"] is not None and r["visit"] > dt.datetime(2020, 1, 1))
    assert (result.unexpected_count, result.unexpected_keys) == (len(expected), expected)


def test_the_extremes_of_a_date_column_with_missing_values():
    low = min(d for d in TRIAL.column("randomised").to_pylist() if d)
    results = evaluate(TRIAL, [
        expectation("expect_column_min_to_be_between", {"column": "randomised", "min_value": low.isoformat()}),
        expectation("expect_column_min_to_be_between", {"column": "randomised", "min_value": low.isoformat(),
                                                        "strict_min": True}),
    ])
    assert [r.success for r in results] == [True, False]
    assert results[0].details["observed_value"] == low.isoformat()


# -- left to GX ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, kwargs", [
    ("expect_column_values_to_be_of_type", {"column": "age", "type_": "int64"}),
    ("expect_column_values_to_be_unique", {"column": "age", "row_condition": 'col("site") > 1',
                                           "condition_parser": "great_expectations"}),
    ("expect_column_values_to_be_between", {"column": "age", "min_value": {"$PARAMETER": "low"}}),
    ("expect_column_values_to_be_between", {"column": "age"}),  # GX refuses it: let GX say so
    ("expect_column_values_to_be_between", {"column": "age", "min_value": 5, "max_value": 1}),
    ("expect_column_values_to_be_between", {"column": "arm", "min_value": "A"}),
    ("expect_column_values_to_be_between", {"column": "randomised", "min_value": "1 March 2020"}),
    ("expect_column_values_to_be_in_set", {"column": "arm", "value_set": ["A", 1]}),
    ("expect_column_values_to_match_regex", {"column": "code", "regex": "(?<=A)B"}),  # Python only
    ("expect_column_values_to_match_regex", {"column": "code", "regex": "^[[:alpha:]]"}),  # means two things
    ("expect_column_values_to_match_regex", {"column": "age", "regex": "^1"}),  # GX matches str(1.0)
    ("expect_column_value_lengths_to_be_between", {"column": "code", "min_value": 5.5}),
    ("expect_compound_columns_to_be_unique", {"column_list": ["arm"]}),
    ("expect_table_row_count_to_equal", {"value": "120"}),
    ("expect_column_values_to_not_be_null", {"column": "age", "mostly": 1.5}),
    ("expect_column_mean_to_be_between", {"column": "flag", "min_value": 0}),
])
def test_what_sql_cannot_say_exactly_is_left_to_gx(kind, kwargs):
    assert evaluate(TRIAL, [expectation(kind, kwargs)]) == [None]


def test_decimals_are_left_to_gx():
    table = pa.table({KEY: ["a", "b"], "dose": pa.array([1, 2], pa.decimal128(5, 2))})
    between = expectation("expect_column_values_to_be_between", {"column": "dose", "min_value": 1})
    assert evaluate(table, [between]) == [None]


def test_a_regex_is_left_to_gx_where_python_and_re2_may_read_the_data_differently():
    def arms(c: str) -> pa.Table:
        """The trial with arm C written as ``c``."""
        values = [c if a == "C" else a for a in TRIAL.column("arm").to_pylist()]
        return TRIAL.set_column(TRIAL.column_names.index("arm"), "arm", pa.array(values))

    accented, multiline, spaced = arms("é"), arms("B\n"), arms("A\x0bB")
    word = expectation("expect_column_values_to_match_regex", {"column": "arm", "regex": r"^\w$"})
    anchored = expectation("expect_column_values_to_match_regex", {"column": "arm", "regex": "^[AB]$"})
    assert evaluate(accented, [word]) == [None]  # Python's \w matches é, RE2's does not
    assert evaluate(multiline, [anchored]) == [None]  # Python's $ matches before a final newline
    no_space = expectation("expect_column_values_to_match_regex", {"column": "arm", "regex": r"^\S+"})
    assert evaluate(spaced, [no_space]) == [None]  # \x0b is a space to Python, not to RE2
    assert evaluate(TRIAL, [no_space])[0] is not None
    ours = evaluate(accented, [anchored, word])
    assert ours[1] is None
    assert_same(ours[0], gxsuite.run(accented, KEY, [anchored], "unicode")[0])


# -- errors --------------------------------------------------------------------------------------

def test_an_unknown_column_is_refused_naming_it_and_the_type():
    expectations = [expectation("expect_column_values_to_not_be_null", {"column": "age"}),
                    expectation("expect_column_values_to_be_between", {"column": "agee", "min_value": 1})]
    with pytest.raises(InvalidInput) as error:
        evaluate(TRIAL, expectations)
    message = str(error.value)
    assert "'agee'" in message and "expect_column_values_to_be_between" in message and "\n" not in message


def test_an_unknown_column_in_a_type_left_to_gx_is_refused_too():
    with pytest.raises(InvalidInput, match="'nope'"):
        evaluate(TRIAL, [expectation("expect_column_values_to_be_dateutil_parseable", {"column": "nope"})])


def test_an_unknown_expectation_type_is_refused():
    gxsuite.check_types([expectation("expect_column_values_to_be_of_type", {"column": "age", "type_": "int"})])
    with pytest.raises(InvalidInput, match=r"unknown expectation type 'expect_column_to_be_tidy' \(expectation 2\)"):
        gxsuite.check_types([expectation("expect_column_to_exist", {"column": "age"}),
                             expectation("expect_column_to_be_tidy", {"column": "age"})])


def test_invalid_arguments_are_refused_by_gx_not_dropped():
    with pytest.raises(InvalidInput, match=r"^expect_column_values_to_be_between\(age\): invalid arguments: .*None"):
        gxsuite.run(TRIAL, KEY, [expectation("expect_column_values_to_be_between", {"column": "age"})], "bad")


def test_arguments_gx_refuses_are_refused_one_expectation_at_a_time():
    gxsuite.check_arguments(expectation(*CASES["between-fails"]))
    with pytest.raises(InvalidInput, match=r"expect_column_values_to_not_be_null\(age\): invalid arguments: mostly"):
        gxsuite.check_arguments(expectation("expect_column_values_to_not_be_null", {"column": "age", "mostly": 2}))


def test_gx_runs_silently(capfd):
    gxsuite.run(TRIAL, KEY, [expectation(*CASES["unique-int"])], "quiet")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
