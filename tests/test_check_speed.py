"""What makes checking fast must not change what it finds: the runs of arms without a sort, the
kept reports, and the re-check of a corrected version against a full check of it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import repo
from repo.checks import cache, integrity, randomisation, run as checks
from repo.checks.results import MISSINGNESS, RECORDS, SCHEMA
from repo.checks.suite import expectation, save, suite_path
from repo.corrections.log import Correction
from repo.repository.refs import Ref
from repo.repository import Repository

# -- the sequence of arms by ID ------------------------------------------------------------------

WINDOWED = """
    WITH s AS (SELECT k, arm, CASE WHEN arm = lag(arm) OVER (ORDER BY k) THEN 0 ELSE 1 END AS new
               FROM t WHERE arm IS NOT NULL),
         r AS (SELECT arm, sum(new) OVER (ORDER BY k) AS run FROM s),
         l AS (SELECT arm, run, count(*) AS length FROM r GROUP BY ALL)
    SELECT arm, length, count(*) FROM l GROUP BY ALL ORDER BY 1, 2"""


def trial_of(ids: list, arms: list) -> integrity.Trial:
    table = pa.table({"id": pa.array(ids, pa.int64()), "arm": arms})
    con = duckdb.connect()
    con.register("trial", table)
    return integrity.trial_view(con, "trial", table.schema, {"key": "id", "roles": {"arm": "arm"}},
                                integrity.merged_thresholds({}))


@pytest.mark.parametrize("case", ["shuffled", "gaps", "three arms", "missing arms", "integer arms", "long runs"])
def test_runs_without_a_sort_are_those_of_the_windowed_sql(case):
    rng = np.random.default_rng(len(case))
    n = 2000
    ids = [int(i) for i in rng.permutation(n) + 1001]
    arms = [str(a) for a in rng.choice(["B", "A"], size=n)]
    if case == "gaps":
        ids = [i * 2 if i % 7 else i * 2 + 1 for i in ids]
    elif case == "three arms":
        arms = [str(a) for a in rng.choice(["C", "A", "B"], size=n, p=[0.2, 0.5, 0.3])]
    elif case == "missing arms":
        arms = [None if i % 13 == 0 else a for i, a in enumerate(arms)]
    elif case == "integer arms":
        arms = [int(a == "A") + 1 for a in arms]
    elif case == "long runs":
        arms = [("A" if (i // 40) % 2 else "B") for i in ids]
    trial = trial_of(ids, arms)
    profile = {a: f for a, f in trial.profile().items() if a is not None}
    low, high = min(f[1] for f in profile.values()), max(f[2] for f in profile.values())
    assert randomisation._runs(trial, list(profile), low, high) == [tuple(r) for r in trial.sql(WINDOWED)]


def test_repeated_ids_fall_back_to_a_sort():
    ids = [1, 2, 2, 3, 4, 5, 6, 6, 7, 8]
    arms = ["A", "A", "A", "B", "B", "A", "B", "B", "B", "A"]  # the repeated IDs share an arm: order is defined
    trial = trial_of(ids, arms)
    assert randomisation._runs(trial, ["A", "B"], 1, 8) == [tuple(r) for r in trial.sql(WINDOWED)]


# -- a trial with every role declared ------------------------------------------------------------

N = 80
START = dt.date(2020, 1, 6)
METADATA = {
    "key": "id",
    "roles": {"arm": "arm", "randomised": "randdate", "death": "death_date", "death_flag": "died",
              "events": ["prog_date"], "last_contact": "last_fu", "baseline": ["age", "sex"]},
    "design": {"planned_ratio": {"A": 1, "B": 1}, "cutoff": "2023-06-30",
               "publication": {"randomised": {"A": 40, "B": 40}, "events": 9}},
}
SUITE = [
    expectation("expect_table_columns_to_match_set",
                column_set=["id", "arm", "age", "sex", "weight", "randdate", "death_date", "died", "prog_date",
                            "last_fu"], exact_match=True),
    expectation("expect_column_values_to_not_be_null", column="id"),
    expectation("expect_column_values_to_be_unique", column="id"),
    expectation("expect_column_values_to_be_between", column="age", min_value=18, max_value=90),
    expectation("expect_column_values_to_be_in_set", column="arm", value_set=["A", "B"]),
    expectation("expect_column_values_to_be_in_set", column="sex", value_set=["F", "M"]),
    expectation("expect_column_values_to_not_be_null", column="weight", mostly=0.95),
    expectation("expect_column_mean_to_be_between", column="weight", min_value=60, max_value=80),
    expectation("expect_column_pair_values_a_to_be_greater_than_b", column_A="last_fu", column_B="randdate"),
    expectation("expect_compound_columns_to_be_unique", column_list=["arm", "age", "sex"], mostly=0.5),
    expectation("expect_table_row_count_to_equal", value=N),
    expectation("expect_column_median_to_be_between", column="age", min_value=30, max_value=70),  # GX's engine
    expectation("expect_column_values_to_be_between", column="age", min_value=18, max_value=60,  # reads arm too
                row_condition='col("arm") == "A"', condition_parser="great_expectations", mostly=0.7),
]


def every_role_trial() -> pa.Table:
    rng = np.random.default_rng(2024)
    randomised = [START + dt.timedelta(days=int(d)) for d in np.sort(rng.integers(0, 700, N))]
    died = [int(x) for x in rng.random(N) < 0.15]
    death = [r + dt.timedelta(days=int(rng.integers(30, 500))) if d else None for r, d in zip(randomised, died)]
    last = [d if d else r + dt.timedelta(days=int(rng.integers(200, 900))) for r, d in zip(randomised, death)]
    prog = [r + dt.timedelta(days=20) if i % 6 == 0 else None for i, r in enumerate(randomised)]
    return pa.table({
        "id": pa.array(range(1, N + 1), pa.int64()),
        "arm": ["A" if a else "B" for a in rng.permutation([0, 1] * (N // 2))],
        "age": pa.array(rng.integers(25, 80, N), pa.int64()),
        "sex": [str(s) for s in rng.choice(["F", "M"], N)],
        "weight": [None if i % 17 == 0 else round(float(w), 1) for i, w in enumerate(rng.normal(72, 9, N))],
        "randdate": pa.array(randomised, pa.date32()),
        "death_date": pa.array(death, pa.date32()),
        "died": pa.array(died, pa.int8()),
        "prog_date": pa.array(prog, pa.date32()),
        "last_fu": pa.array(last, pa.date32()),
    })


def change(table: pa.Table, key: int, column: str, value) -> pa.Table:
    values = table[column].to_pylist()
    values[key - 1] = value
    return table.set_column(table.schema.get_field_index(column), column, pa.array(values, table.schema.field(column).type))


def update(key: int, column: str, old, new) -> Correction:
    return Correction("s1", "update", key, column, old, new, "test", None, "tester", "now", "v1")


def with_bmi(table: pa.Table) -> pa.Table:
    return table.append_column("bmi", pa.array([None if i % 9 == 0 else 20.0 + i % 11 for i in range(N)]))


CORRECTIONS = {  # name -> (the corrected table, the corrections' entries)
    "a baseline covariate": lambda t: (change(t, 5, "age", 99), [update(5, "age", 50, 99)]),
    "a date": lambda t: (change(t, 7, "last_fu", START - dt.timedelta(days=3)),
                         [update(7, "last_fu", "2021-01-01", "2020-01-03")]),
    "a value set to missing": lambda t: (change(t, 3, "weight", None), [update(3, "weight", 70.5, None)]),
    "the arm": lambda t: (change(change(t, 10, "arm", "B" if t["arm"][9].as_py() == "A" else "A"), 11, "sex", "M"),
                          [update(10, "arm", "A", "B"), update(11, "sex", "F", "M")]),
    "a death and its flag": lambda t: (change(change(t, 12, "death_date", START + dt.timedelta(days=900)), 12,
                                              "died", 1),
                                       [update(12, "death_date", None, "2022-06-25"), update(12, "died", 0, 1)]),
    "a new column": lambda t: (with_bmi(t), [Correction("s1", "add_column", None, "bmi", None, {"type": "number"},
                                                        "late", None, "tester", "now", "v1")]),
    "a removed record": lambda t: (t.slice(1), [Correction("s1", "remove", 1, None, {}, None, "duplicate", None,
                                                           "tester", "now", "v1")]),
}


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """Just enough of a repository to check files (the suite; no DVC, no versions), and the parent's parts."""
    root = tmp_path_factory.mktemp("repository")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".dvc").mkdir()
    (root / "ipd.toml").write_text('name = "t"\n')
    save(suite_path(root, "t"), {"name": "t", "expectations": SUITE, "meta": {}})
    return Repository(root), write_parts(root / "v1", every_role_trial())


def write_parts(folder: Path, table: pa.Table) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    half = table.num_rows // 2
    paths = [folder / "0.parquet", folder / "1.parquet"]
    pq.write_table(table.slice(0, half), paths[0])
    pq.write_table(table.slice(half), paths[1])
    return paths


def target(version: str, files: list[Path]) -> checks.Target:
    return checks.Target("t", version, f"sha256:{version}", "id", files, METADATA)


def as_json(report) -> str:
    return json.dumps(report.to_json(), indent=1, default=str)


def same_figures(report) -> str:
    """The report with floats to 12 digits: DuckDB sums floats across threads in no fixed order, so two
    full checks of the same data can already differ in the last digit of a mean or a variance."""
    return json.dumps(json.loads(as_json(report), parse_float=lambda x: float(f"{float(x):.12g}")), indent=1)


@pytest.mark.parametrize("name", CORRECTIONS)
def test_a_recheck_gives_what_a_full_check_gives(checked, tmp_path, name):
    repository, parent = checked
    # as commit gets it: kept from the parent's check, so read back from JSON
    before = checks.CheckReport.from_json(json.loads(as_json(checks.check_files(repository, target("v1", parent)))))
    table, entries = CORRECTIONS[name](every_role_trial())
    touched = checks.touched_by(entries)
    suite = {"name": "t", "expectations": SUITE, "meta": {}}
    if SCHEMA in touched:  # as commit does, the added variable joins the suite's column set
        suite = json.loads(json.dumps(suite))
        suite["expectations"][0]["kwargs"]["column_set"].append("bmi")
    save(suite_path(repository.root, "t"), suite)
    try:
        files = write_parts(tmp_path / "v2", table)
        full = checks.check_files(repository, target("v2", files))
        assert same_figures(checks.recheck(repository, target("v2", files), before, touched)) == same_figures(full)
    finally:
        save(suite_path(repository.root, "t"), {"name": "t", "expectations": SUITE, "meta": {}})
    # keeping every result would be wrong: the corrections change what the checks find
    assert same_figures(full) != same_figures(checks.recheck(repository, target("v2", files), before, set()))


def test_the_touched_columns_and_markers():
    assert checks.touched_by([update(1, "age", 50, 51)]) == {"age"}
    assert checks.touched_by([update(1, "weight", 70.5, None), update(2, "sex", " ", "F")]) == \
        {"weight", "sex", MISSINGNESS}
    assert checks.touched_by(CORRECTIONS["a new column"](every_role_trial())[1]) == {"bmi", SCHEMA}
    assert RECORDS in checks.touched_by(CORRECTIONS["a removed record"](every_role_trial())[1])


def test_a_recheck_reads_only_what_the_corrections_touched(checked, tmp_path, monkeypatch):
    repository, parent = checked
    before = checks.check_files(repository, target("v1", parent))
    files = write_parts(tmp_path / "v2", change(every_role_trial(), 4, "weight", 81.0))
    ran = []
    evaluate = checks.sqlsuite.evaluate
    monkeypatch.setattr(checks.sqlsuite, "evaluate", lambda con, rel, schema, key, chosen:
                        ran.extend(e["type"] for e in chosen) or evaluate(con, rel, schema, key, chosen))
    monkeypatch.setattr(checks.integrity, "run", lambda *args, **kwargs: pytest.fail("no integrity check reads weight"))
    report = checks.recheck(repository, target("v2", files), before, {"weight"})
    assert ran == ["expect_column_values_to_not_be_null", "expect_column_mean_to_be_between"]
    assert [r.name for r in report.results] == [r.name for r in before.results]


def test_inputs_name_the_columns_each_check_read(checked):
    repository, parent = checked
    inputs = {r.name: r.inputs for r in checks.check_files(repository, target("v1", parent)).results}
    assert inputs["expect_table_columns_to_match_set"] == [SCHEMA]
    assert [i for name, i in inputs.items() if name == "expect_column_values_to_be_between(age)"] == [["age", "arm"]]
    assert inputs["expect_column_pair_values_a_to_be_greater_than_b(last_fu, randdate)"] == ["last_fu", "randdate"]
    assert inputs["randomisation: sequence of arms by ID"] == ["arm", "id"]
    assert inputs["randomisation: baseline balance"] == ["age", "arm", "sex"]
    assert inputs["missing data: by arm"] == [MISSINGNESS, SCHEMA, "arm"]
    assert inputs["follow-up: lost to follow-up"] == ["arm", "death_date", "died", "id", "last_fu"]
    assert inputs["publication: randomised by arm"] == ["arm"]
    assert inputs["publication: events"] == ["died"]


# -- kept reports --------------------------------------------------------------------------------

@pytest.fixture
def ingested(tmp_repo, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("pid,arm,age\n" + "".join(f"{i},{'AB'[i % 2]},{30 + i % 40}\n" for i in range(1, 41)) + "41,A,150\n")
    tmp_repo.ingest("t", csv, "--key", "pid", "--arm", "arm")
    kept = tmp_repo.root / ".git" / "ipd" / "checks"
    assert len(list(kept.glob("*.json"))) == 1  # ingest checked v1 against its baseline suite
    shutil.rmtree(kept)
    save(suite_path(tmp_repo.root, "t"), {"name": "t", "meta": {}, "expectations": [
        expectation("expect_column_values_to_be_between", column="age", min_value=18, max_value=90)]})
    return repo.open(tmp_repo.root)


def test_a_version_is_checked_once(ingested, monkeypatch):
    first = checks.check(ingested, Ref("t"))
    assert len(list((ingested.scm.git_dir / "ipd" / "checks").glob("*.json"))) == 1
    monkeypatch.setattr(checks, "_evaluate", lambda *args: pytest.fail("the kept report is used"))
    assert as_json(checks.check(ingested, Ref("t"))) == as_json(first)


def test_no_cache_checks_again_and_a_kept_report_reads_as_a_fresh_one(ingested):
    first = checks.check(ingested, Ref("t"))
    fresh = checks.check(ingested, Ref("t"), cache=False)
    assert fresh.to_json() == first.to_json() and fresh.results == first.results
    assert not first.success and first.results[0].inputs


def test_a_corrupt_kept_report_is_checked_again(ingested):
    first = checks.check(ingested, Ref("t"))
    [kept] = (ingested.scm.git_dir / "ipd" / "checks").glob("*.json")
    for broken in ("{not json", json.dumps({"trial": "t"}), "[]"):
        kept.write_text(broken)
        assert same_figures(checks.check(ingested, Ref("t"))) == same_figures(first)
        assert json.loads(kept.read_text())["results"][0]["unexpected_keys"] == [41]  # kept again, whole


def test_a_changed_suite_or_role_is_checked_again(ingested):
    record = ingested.dataset("t").version().record
    suite = json.loads(suite_path(ingested.root, "t").read_text())
    metadata = ingested.dataset("t").metadata()
    digest = cache.key(ingested, record, suite, metadata)
    suite["expectations"][-1]["kwargs"]["max_value"] = 200
    assert cache.key(ingested, record, suite, metadata) != digest
    assert cache.key(ingested, record, json.loads(suite_path(ingested.root, "t").read_text()),
                     {**metadata, "design": {"cutoff": "2020-01-01"}}) != digest


def test_ipd_check_no_cache(ingested, tmp_repo):
    for args in ((), ("--no-cache",)):
        result = tmp_repo.ipd("check", "t", "--json", "--repo", tmp_repo.root, *args)
        assert result.exit_code == 1, result.stderr
        assert json.loads(result.stdout)["results"][0]["unexpected_keys"] == [41]


def test_ipd_validate_uses_kept_reports_unless_told_not_to(ingested, tmp_repo, monkeypatch):
    first = tmp_repo.ipd("validate", "--json", "--repo", tmp_repo.root)
    assert first.exit_code == 1 and json.loads(first.stdout)["checks"][0]["results"][0]["unexpected_keys"] == [41]
    monkeypatch.setattr(checks, "_evaluate", lambda *args: pytest.fail("the kept report is used"))
    assert tmp_repo.ipd("validate", "--json", "--repo", tmp_repo.root).stdout == first.stdout
    with pytest.raises(BaseException, match="the kept report is used"):
        tmp_repo.ipd("validate", "--no-cache", "--repo", tmp_repo.root)
