"""Staging corrections and cutting corrected versions: exact rows, exact log entries, exact refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import repo
from conftest import git
from support.corrections import _csv, commit, correct

ROWS = {
    "pid": [1, 2, 3, 4, 5, 6],
    "arm": ["A", "B", "A", "B", "A", "B"],
    "age": [34, 45, 51, 29, 62, 38],
    "sex": ["F", "M", "F", "M", "F", "M"],
    "randdate": ["2020-01-03", "2020-01-04", "2020-01-05", "2020-01-06", "2020-01-07", "2020-01-08"],
}


@pytest.fixture
def trial(tmp_repo, tmp_path):
    tmp_repo.ingest("t", _csv(tmp_path / "d1.csv", ROWS), "--key", "pid", "--arm", "arm")
    return tmp_repo


def staged(tmp_repo) -> list[dict]:
    result = correct(tmp_repo, "--list", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def one_line(result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("error: ")


def rows(root: Path, version: str) -> list[dict]:
    table = repo.open(root).dataset("t").version(version).to_arrow().sort_by("pid")
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in table.to_pylist()]


# -- staging ------------------------------------------------------------------------------------------

def test_staging_records_the_old_value(trial):
    result = correct(trial, "--key", "2", "--column", "age", "--value", "46", "--reason", "CRF page 3 says 46")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "staged s1: 2/age: 45 -> 46 — CRF page 3 says 46"
    [entry] = staged(trial)
    assert {k: entry[k] for k in ("id", "action", "key", "column", "old", "new", "reason", "query", "base",
                                  "version")} == {
        "id": "s1", "action": "update", "key": 2, "column": "age", "old": 45, "new": 46,
        "reason": "CRF page 3 says 46", "query": None, "base": "v1", "version": None}
    assert entry["author"] == "Test Curator <curator@example.org>"
    assert git(trial.root, "status", "--porcelain") == ""  # the staging area is not part of the history


@pytest.mark.parametrize("args, message", [
    (["--key", "99", "--column", "age", "--value", "40"], "no record with key 99 in t@v1"),
    (["--key", "2", "--column", "weight", "--value", "40"], "no column 'weight' in t@v1"),
    (["--key", "2", "--column", "age", "--value", "forty"], "column age: 'forty' is not a valid integer value"),
    (["--key", "2", "--column", "age", "--value", "45.5"], "column age: '45.5' is not a valid integer value"),
    (["--key", "2", "--column", "randdate", "--value", "2020-02-30"],
     "column randdate: '2020-02-30' is not a valid date value"),
    (["--key", "2", "--column", "arm", "--value", "C"],
     "'C' is not in the value set of arm (A, B); if it is right, add it to the dictionary in "
     "datasets/t/dataset.yaml first"),
    (["--key", "2", "--column", "pid", "--value", "7"],
     "the key 'pid' cannot be updated: remove the record and add it again"),
    (["--key", "2", "--column", "age", "--value", "45"], "2/age is already 45 in t@v1"),
    (["--key", "x", "--column", "age", "--value", "40"], "key pid: 'x' is not a valid integer value"),
    (["--remove", "--key", "99"], "no record with key 99 in t@v1"),
    (["--key", "2", "--column", "age", "--value", "40", "--query", "t-q9"], None),
])
def test_bad_corrections_are_refused_and_nothing_is_staged(trial, args, message):
    before = trial.state()
    result = correct(trial, *args, "--reason", "because")
    error = one_line(result)
    if message:
        assert error == message
    else:
        assert "t-q9" in error
    assert trial.state() == before
    assert staged(trial) == []


def test_a_correction_needs_a_reason(trial):
    assert one_line(correct(trial, "--key", "2", "--column", "age", "--value", "46")) == \
        "update needs a reason (--reason)"


def test_a_record_staged_for_removal_cannot_be_corrected(trial):
    assert correct(trial, "--remove", "--key", "4", "--reason", "duplicate of 2").exit_code == 0
    before = trial.state()
    assert one_line(correct(trial, "--key", "4", "--column", "age", "--value", "30", "--reason", "r")) == \
        "record 4 is staged for removal (s1)"
    assert trial.state() == before


def test_a_cell_is_staged_once(trial):
    assert correct(trial, "--key", "2", "--column", "age", "--value", "46", "--reason", "r").exit_code == 0
    assert one_line(correct(trial, "--key", "2", "--column", "age", "--value", "47", "--reason", "r")) == \
        "2/age is already staged to change (s1); drop it first (ipd correct t --drop s1)"


def test_added_records_must_have_new_keys(trial, tmp_path):
    new = {k: [v[0]] for k, v in ROWS.items()} | {"pid": [7]}
    assert correct(trial, "--add", _csv(tmp_path / "a.csv", new), "--reason", "late registration").exit_code == 0
    again = _csv(tmp_path / "b.csv", new)
    assert one_line(correct(trial, "--add", again, "--reason", "r")) == \
        f"{again}, row 1: duplicate key 7: already staged to be added (s1)"
    existing = _csv(tmp_path / "c.csv", {k: [v[0]] for k, v in ROWS.items()})
    assert one_line(correct(trial, "--add", existing, "--reason", "r")) == \
        f"{existing}, row 1: duplicate key 1: t@v1 already has that record"
    bad = _csv(tmp_path / "d.csv", new | {"pid": [8], "age": ["old"]})
    assert one_line(correct(trial, "--add", bad, "--reason", "r")) == \
        f"{bad}, row 1: column age: 'old' is not a valid integer value"


def test_a_file_of_corrections_is_staged_whole_or_not_at_all(trial, tmp_path):
    good = tmp_path / "fixes.csv"
    good.write_text("key,column,value,reason\n2,age,46,CRF\n3,randdate,2020-01-06,site log\n5,age,,not recorded\n")
    result = correct(trial, "--file", good)
    assert result.exit_code == 0, result.stderr
    assert [(e["id"], e["key"], e["column"], e["old"], e["new"]) for e in staged(trial)] == [
        ("s1", 2, "age", 45, 46), ("s2", 3, "randdate", "2020-01-05", "2020-01-06"), ("s3", 5, "age", 62, None)]
    bad = tmp_path / "bad.csv"
    bad.write_text("key,column,value,reason\n1,age,35,CRF\n6,sex,X,typo\n")
    before = trial.state()
    assert one_line(correct(trial, "--file", bad)) == \
        f"{bad}, line 3: 'X' is not in the value set of sex (F, M); if it is right, add it to the dictionary " \
        "in datasets/t/dataset.yaml first"
    assert trial.state() == before
    header = tmp_path / "header.csv"
    header.write_text("key,column,reason\n1,age,CRF\n")
    assert one_line(correct(trial, "--file", header)) == \
        f"{header}: no value column; the header must be key,column,value,reason[,query][,action][,public_reason]"


def test_drop_unstages(trial):
    for key, value in (("2", "46"), ("3", "52")):
        assert correct(trial, "--key", key, "--column", "age", "--value", value, "--reason", "r").exit_code == 0
    assert correct(trial, "--drop", "s1").exit_code == 0
    assert [e["id"] for e in staged(trial)] == ["s2"]
    assert one_line(correct(trial, "--drop", "s7"), 2) == "t: nothing staged as s7 (see `ipd correct t --list`)"
    assert correct(trial, "--drop", "all").exit_code == 0
    assert staged(trial) == []


# -- committing ---------------------------------------------------------------------------------------

def test_commit_cuts_the_corrected_version(trial, tmp_path):
    correct(trial, "--key", "2", "--column", "age", "--value", "46", "--reason", "CRF page 3")
    correct(trial, "--remove", "--key", "4", "--reason", "duplicate registration of 2")
    new = {k: [v[1]] for k, v in ROWS.items()} | {"pid": [7], "randdate": ["2020-01-08"]}
    correct(trial, "--add", _csv(tmp_path / "late.csv", new), "--reason", "registered late")
    result = commit(trial, "-m", "Corrections from query round 1", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["version"], out["parent"], out["corrections"], out["rows"]) == ("v2", "v1", ["c1", "c2", "c3"], 6)
    assert out["changes"] == {"cells": 1, "added": 1, "removed": 1, "columns_added": [], "columns_removed": []}
    assert out["new_failures"] == [] and out["override"] is None

    assert rows(trial.root, "v2") == [
        {"pid": 1, "arm": "A", "age": 34, "sex": "F", "randdate": "2020-01-03"},
        {"pid": 2, "arm": "B", "age": 46, "sex": "M", "randdate": "2020-01-04"},
        {"pid": 3, "arm": "A", "age": 51, "sex": "F", "randdate": "2020-01-05"},
        {"pid": 5, "arm": "A", "age": 62, "sex": "F", "randdate": "2020-01-07"},
        {"pid": 6, "arm": "B", "age": 38, "sex": "M", "randdate": "2020-01-08"},
        {"pid": 7, "arm": "B", "age": 45, "sex": "M", "randdate": "2020-01-08"},
    ]
    assert rows(trial.root, "v1")[1]["age"] == 45  # the old version is untouched
    entries = [json.loads(line) for line in (trial.root / "datasets/t/corrections.jsonl").read_text().splitlines()]
    assert [(e["id"], e["action"], e["key"], e["version"], e["reason"]) for e in entries] == [
        ("c1", "update", 2, "v2", "CRF page 3"), ("c2", "remove", 4, "v2", "duplicate registration of 2"),
        ("c3", "add", 7, "v2", "registered late")]
    assert entries[1]["old"] == {"pid": 4, "arm": "B", "age": 29, "sex": "M", "randdate": "2020-01-06"}
    assert staged(trial) == []
    assert git(trial.root, "tag", "--list", "t/*").split() == ["t/v1", "t/v2"]
    assert git(trial.root, "status", "--porcelain") == ""
    repo.open(trial.root).dataset("t").version("v2").verify()
    assert trial.ipd("validate", "--repo", trial.root).exit_code == 0


def test_the_log_is_append_only_across_versions(trial):
    correct(trial, "--key", "2", "--column", "age", "--value", "46", "--reason", "CRF")
    assert commit(trial, "-m", "round 1").exit_code == 0
    log = trial.root / "datasets/t/corrections.jsonl"
    first = log.read_text()
    correct(trial, "--key", "2", "--column", "age", "--value", "45", "--reason", "c1 was wrong: the CRF says 45")
    assert commit(trial, "-m", "round 2").exit_code == 0
    assert log.read_text().startswith(first)
    reversal = json.loads(log.read_text().splitlines()[-1])
    assert (reversal["id"], reversal["old"], reversal["new"], reversal["version"]) == ("c2", 46, 45, "v3")
    assert rows(trial.root, "v3") == rows(trial.root, "v1")
    result = trial.ipd("log", "t", "--corrections", "--json", "--repo", trial.root)
    assert [(e["id"], e["version"]) for e in json.loads(result.stdout)] == [("c1", "v2"), ("c2", "v3")]


def test_nothing_staged_is_refused(trial):
    assert one_line(commit(trial, "-m", "nothing")) == \
        "nothing staged for t: stage corrections with `ipd correct t …` first"


def test_new_check_failures_are_refused_unless_accepted(trial):
    correct(trial, "--key", "2", "--column", "age", "--value", "99", "--reason", "CRF says 99")
    before = trial.state()
    assert one_line(commit(trial, "-m", "round 1")) == (
        "the corrections make 1 check(s) newly fail: expect_column_values_to_be_between(age). Fix the staged "
        "corrections, or cut the version anyway with --accept-failures REASON")
    assert trial.state() == before  # nothing written, and still staged
    result = commit(trial, "-m", "round 1", "--accept-failures", "the oldest participant really is 99", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["new_failures"] == ["expect_column_values_to_be_between(age)"]
    assert out["override"] == {"by": "Test Curator <curator@example.org>",
                               "reason": "the oldest participant really is 99",
                               "new_failures": ["expect_column_values_to_be_between(age)"]}
    record = json.loads((trial.root / "datasets/t/versions/v2.json").read_text())
    assert record["override"] == out["override"]


def test_a_commit_reports_the_checks_it_fixed(trial):
    correct(trial, "--key", "2", "--column", "age", "--value", "99", "--reason", "CRF")
    commit(trial, "-m", "r1", "--accept-failures", "checking")
    correct(trial, "--key", "2", "--column", "age", "--value", "45", "--reason", "typo")
    result = commit(trial, "-m", "r2", "--json")
    assert json.loads(result.stdout)["fixed"] == ["expect_column_values_to_be_between(age)"]


def test_a_stale_correction_is_refused(trial, tmp_path):
    correct(trial, "--key", "2", "--column", "age", "--value", "46", "--reason", "CRF")
    trial.ingest("t", _csv(tmp_path / "d2.csv", ROWS | {"age": [34, 47, 51, 29, 62, 38]}))  # v2 moves the cell
    before = trial.state()
    assert one_line(commit(trial, "-m", "r1")) == \
        "s1 is stale: in t@v2 2/age is 47, not 45 as staged; drop it (ipd correct t --drop s1) and stage it again"
    assert trial.state() == before


def test_only_parts_holding_touched_participants_are_rewritten(tmp_repo, tmp_path):
    n = 40_000  # three parts' worth: four parts
    tmp_repo.ingest("t", _csv(tmp_path / "big.csv", {"pid": range(1, n + 1), "x": [i % 7 for i in range(n)]}),
                    "--key", "pid")
    v1 = repo.open(tmp_repo.root).dataset("t").version("v1").record
    assert v1.nparts == 4
    correct(tmp_repo, "--key", "12345", "--column", "x", "--value", "6", "--reason", "r")
    result = commit(tmp_repo, "-m", "one cell", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["parts_rewritten"] == 1
    v2 = repo.open(tmp_repo.root).dataset("t").version("v2").record
    changed = [a.name for a, b in zip(v1.parts, v2.parts) if a.md5 != b.md5]
    assert len(changed) == 1
    assert repo.open(tmp_repo.root).dataset("t").version("v2").duckdb().filter("pid = 12345").fetchall() == [(12345, 6)]


def test_a_new_variable_from_the_trialists(trial, tmp_path):
    supplied = _csv(tmp_path / "bmi.csv", {"pid": [1, 3, 6], "bmi": [22.5, 30.1, 27.0]})
    assert correct(trial, "--add-column", supplied, "--reason", "BMI supplied after query round 1").exit_code == 0
    result = commit(trial, "-m", "BMI added", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["changes"]["columns_added"] == ["bmi"]
    assert [r["bmi"] for r in rows(trial.root, "v2")] == [22.5, None, 30.1, None, None, 27.0]
    suite = json.loads((trial.root / "expectations/t.json").read_text())
    assert "bmi" in suite["expectations"][0]["kwargs"]["column_set"]
    entry = json.loads((trial.root / "datasets/t/corrections.jsonl").read_text())
    assert entry["new"]["file"].startswith("source/corrections/") and entry["new"]["rows"] == 3
    unknown = _csv(tmp_path / "w.csv", {"pid": [1, 99], "weight": [60, 70]})
    assert one_line(correct(trial, "--add-column", unknown, "--reason", "r")) == \
        f"{unknown}: 1 key(s) are not participants of t@v2: 99"
    assert one_line(correct(trial, "--add-column", supplied, "--reason", "r")) == \
        f"{supplied}: column 'bmi' already exists in t@v2; correct its values with updates instead"


def test_validate_fails_when_the_log_and_the_data_disagree(trial):
    correct(trial, "--key", "2", "--column", "age", "--value", "46", "--reason", "CRF")
    assert commit(trial, "-m", "r1").exit_code == 0
    log = trial.root / "datasets/t/corrections.jsonl"
    log.write_text(log.read_text().replace('"new": 46', '"new": 47'))
    git(trial.root, "commit", "-qam", "edit the log")
    result = trial.ipd("validate", "--repo", trial.root, "--json")
    assert result.exit_code == 1
    [v2] = [v for v in json.loads(result.stdout)["versions"] if v["version"] == "v2"]
    assert v2["problem"] == ("its diff against v1 disagrees with datasets/t/corrections.jsonl: "
                             "2/age is 46, but c1 set it to 47")


def test_a_part_edited_in_the_work_tree_is_not_stored(tmp_repo, tmp_path):
    n = 40_000
    tmp_repo.ingest("t", _csv(tmp_path / "big.csv", {"pid": range(1, n + 1), "x": [i % 7 for i in range(n)]}),
                    "--key", "pid")
    correct(tmp_repo, "--key", "12345", "--column", "x", "--value", "6", "--reason", "r")
    import duckdb

    from repo.versions.lookup import key_type, parts_of

    v1 = repo.open(tmp_repo.root).dataset("t").version("v1")
    con = duckdb.connect()
    holding = parts_of(con, [12345], key_type(con, v1.files()[0], "pid"), v1.record.nparts)[12345]
    untouched = next(p for p in v1.record.parts if p.name != holding)
    path = tmp_repo.root / "datasets/t/data" / untouched.name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))
    before = tmp_repo.state()
    assert one_line(commit(tmp_repo, "-m", "one cell"), 1) == (
        f"datasets/t/data/{untouched.name} in the work tree is not what t@v1 and the corrections make it; "
        "delete datasets/t/data and run the command again")
    assert tmp_repo.state() == before
