"""Spreadsheet formula injection: text a spreadsheet would run goes out neutralised in every CSV ipd writes
(pull, diff, query export, release), is stored as delivered, and is named by `ipd check` and the release plan."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import repo
from conftest import git, ipd
from repo.backends import csvsafe

NAME = "text: cells a spreadsheet would run as formulas"
NOTES = ["=cmd|'/C calc'!A0", '=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(1)", "\tstarts with a tab",
         "\rstarts with a carriage return", "fine", "fine too", "also fine"]
DELIVERY = {
    "pid": pa.array(range(1, 11), pa.int64()),
    "arm": pa.array(["A", "B", "B", "A", "B", "A", "A", "B", "A", "B"]),
    "note": pa.array(NOTES),
    "dose": pa.array([-5, 10, -1, 0, 3, -20, 7, 8, -9, 2], pa.int64()),  # numbers: never touched
    "grade": pa.array(["low", "low", "high", "high", "low", "high", "low", "-", "low", "high"]),  # a value set
}
# The delivery's rows as every CSV of them holds them: text neutralised and quoted, numbers as they are.
CSV_ROWS = {
    1: ['"A"', '"\'=cmd|\'/C calc\'!A0"', "-5", '"low"'],
    2: ['"B"', '"\'=HYPERLINK(""http://x"",""y"")"', "10", '"low"'],
    3: ['"B"', '"\'+1"', "-1", '"high"'],
    4: ['"A"', '"\'-2"', "0", '"high"'],
    5: ['"B"', '"\'@SUM(1)"', "3", '"low"'],
    6: ['"A"', '"\'\tstarts with a tab"', "-20", '"high"'],
    7: ['"A"', '"\'\rstarts with a carriage return"', "7", '"low"'],
    8: ['"B"', '"fine"', "8", '"\'-"'],
    9: ['"A"', '"fine too"', "-9", '"low"'],
    10: ['"B"', '"also fine"', "2", '"high"'],
}


@pytest.fixture
def trial(tmp_repo):
    path = tmp_repo.root.parent / "delivery.parquet"
    pq.write_table(pa.table(DELIVERY), path)
    tmp_repo.ingest("t", path, "--key", "pid", "--arm", "arm")
    return tmp_repo


def run(tmp_repo, *args: str | Path, code: int = 0):
    result = ipd(*args, "--repo", tmp_repo.root)
    assert result.exit_code == code, result.output + result.stderr
    return result


def stored(tmp_repo, version: str = "v1") -> dict[str, list]:
    return repo.open(tmp_repo.root).dataset("t").version(version).to_arrow().sort_by("pid").to_pydict()


# -- the module that neutralises --------------------------------------------------------------------------


@pytest.mark.parametrize("value, field", [
    ("=1+2\";=1+2", "\"'=1+2\"\";=1+2\""),  # OWASP's two examples, exactly
    ("=1+2'\" ;,=1+2", "\"'=1+2'\"\" ;,=1+2\""),
    ("+1", "\"'+1\""), ("-2", "\"'-2\""), ("@SUM(1)", "\"'@SUM(1)\""), ("\tx", "\"'\tx\""), ("\rx", "\"'\rx\""),
    ("\nx", "\"'\nx\""), ("a=b", "a=b"), ("'=1", "'=1"), ("", ""), (None, ""), (-5, "-5"), (-2.5, "-2.5"),
])
def test_a_text_cell_that_would_run_gets_a_quote_and_is_quoted(value, field):
    assert csvsafe.row([value]) == field + "\n"


def test_other_fields_are_written_as_the_csv_module_writes_them():
    values = ["plain", "a,b", 'say "x"', "two\nlines", 42, -1, 0.5, True, None, " padded "]
    sink = io.StringIO()
    csv.writer(sink, lineterminator="\r\n").writerow(values)
    assert csvsafe.row(values, end="\r\n") == sink.getvalue()


def test_restore_undoes_what_the_export_added_and_nothing_else():
    for value in ("=1+1", "-2", "\tx", "plain", "'quoted", "'plain"):
        assert csvsafe.restore(csvsafe.cell(value)) == value
    assert csvsafe.restore("'=1+1") == "=1+1"


def test_a_table_is_neutralised_in_its_text_columns_and_names_only():
    table = pa.table({
        "=name": pa.array(["x", None]),
        "plain": pa.array(["-1", "ok"]),
        "large": pa.array(["@a", None], pa.large_string()),
        "coded": pa.array(["+b", "c"]).dictionary_encode(),
        "number": pa.array([-1, 2]),
        "untouched": pa.array(["a", "b"]),
    })
    found = csvsafe.table(table)
    assert found.column_names == ["'=name", "plain", "large", "coded", "number", "untouched"]
    assert found.to_pydict() | {"coded": found["coded"].to_pylist()} == {
        "'=name": ["x", None], "plain": ["'-1", "ok"], "large": ["'@a", None], "coded": ["'+b", "c"],
        "number": [-1, 2], "untouched": ["a", "b"]}
    assert [f.type for f in found.schema] == [f.type for f in table.schema]
    data = [t["untouched"].chunk(0).buffers()[2].address for t in (found, table)]
    assert data[0] == data[1]  # a column without such text is not copied
    assert csvsafe.columns(table) == ["plain", "large", "coded"]


# -- every CSV that leaves ipd ----------------------------------------------------------------------------


def test_pull_as_csv_neutralises_text_and_keeps_numbers_and_the_stored_values(trial, tmp_path):
    result = ipd("pull", "t@v1", "--from", trial.root, "--out", tmp_path / "csv", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    expected = '"pid","arm","note","dose","grade"\n' + "".join(
        ",".join([str(key), *cells]) + "\n" for key, cells in CSV_ROWS.items())
    assert (tmp_path / "csv" / "t.csv").read_bytes().decode() == expected
    result = ipd("pull", "t@v1", "--from", trial.root, "--out", tmp_path / "parquet")
    assert result.exit_code == 0, result.stderr
    original = pa.table(DELIVERY).to_pydict()
    assert pq.read_table(tmp_path / "parquet" / "t.parquet").to_pydict() == original
    assert stored(trial) == original  # the version's parts hold the text as delivered
    result = ipd("pull", "t@v1", "--from", trial.root, "--out", tmp_path / "dta", "--format", "dta")
    assert result.exit_code == 0, result.stderr
    assert pd.read_stata(tmp_path / "dta" / "t.dta")["note"].tolist() == NOTES  # other formats: as stored


def test_check_names_the_participants_and_the_columns(trial):
    report = json.loads(run(trial, "check", "t", "--json", code=1).stdout)
    [result] = [r for r in report["results"] if r["name"] == NAME]
    assert (result["success"], result["kind"], result["unexpected_count"], result["unexpected_keys"]) == \
        (False, "integrity", 8, [1, 2, 3, 4, 5, 6, 7, 8])
    assert result["details"] == {"cells": {"note": 7, "grade": 1}}
    assert result["inputs"] == ["*schema*", "arm", "grade", "note"]
    assert result["figures"] == [{
        "title": "Cells a spreadsheet would run as formulas, by column (ipd's CSV files give them a leading ')",
        "columns": ["column", "cells", "first participant", "its value"],
        "rows": [["note", 7, 1, "\"=cmd|'/C calc'!A0\""], ["grade", 1, 8, '"-"']]}]
    assert [r["name"] for r in report["results"] if not r["success"]] == [NAME]


def test_a_trial_without_such_text_passes(tmp_repo):
    path = tmp_repo.root.parent / "clean.parquet"
    pq.write_table(pa.table({"pid": [1, 2], "arm": ["A", "B"], "note": ["a - b", "x=1"], "dose": [-1, -2]}), path)
    tmp_repo.ingest("t", path, "--key", "pid", "--arm", "arm")
    report = json.loads(run(tmp_repo, "check", "t", "--json").stdout)
    assert [(r["success"], r["unexpected_keys"], r["details"]) for r in report["results"] if r["name"] == NAME] == \
        [(True, [], {"cells": {}})]


def test_diff_csv_neutralises_the_new_text_but_not_numbers(trial):
    run(trial, "correct", "t", "--key", "10", "--column", "note", "--value", "=1+1", "--reason", "-as on the CRF")
    run(trial, "correct", "t", "--key", "9", "--column", "dose", "--value", "-10", "--reason", "CRF page 3")
    refused = run(trial, "commit", "t", "-m", "Query round 1", code=2)
    assert refused.stderr == f"error: the corrections make 1 check(s) newly fail: {NAME}. Fix the staged " \
                             "corrections, or cut the version anyway with --accept-failures REASON\n"
    run(trial, "commit", "t", "-m", "Query round 1", "--accept-failures", "the trialists confirm the text")
    result = ipd("diff", "t@v1", "v2", "--csv", "-", "--repo", trial.root)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("change,key,column,old,new,correction,reason\n"
                             "changed,9,dose,-9,-10,c2,CRF page 3\n"
                             "changed,10,note,also fine,\"'=1+1\",c1,\"'-as on the CRF\"\n")
    assert stored(trial, "v2")["note"] == NOTES[:9] + ["=1+1"]
    report = json.loads(run(trial, "check", "t", "--json", code=1).stdout)
    assert [r["unexpected_keys"] for r in report["results"] if r["name"] == NAME] == [[1, 2, 3, 4, 5, 6, 7, 8, 10]]


def test_query_export_neutralises_text_and_import_reads_it_back_unchanged(trial, tmp_path):
    run(trial, "query", "open", "t", "--key", "3", "--column", "note", "--text", "=1+1 is not a note")
    run(trial, "query", "answer", "t-q1", "--text", "-1 was meant")
    run(trial, "query", "export", "t", "--out", tmp_path / "queries.csv")
    assert (tmp_path / "queries.csv").read_bytes().decode() == (
        "query,key,column,question,status,answer\r\n"
        "t-q1,3,note,\"'=1+1 is not a note\",answered,\"'-1 was meant\"\r\n")
    imported = run(trial, "query", "import", "t", tmp_path / "queries.csv")  # as the trialists send it back
    assert imported.stdout == "0 answer(s) recorded; 1 row(s) without a new answer\n"
    [found] = json.loads(run(trial, "query", "list", "t", "--json").stdout)
    assert (found["text"], [a["text"] for a in found["answers"]]) == ("=1+1 is not a note", ["-1 was meant"])


# -- releases ---------------------------------------------------------------------------------------------

RULES = {"min_cell": 1, "participant_id": "pid", "race": "grade", "keep": ["arm", "note", "dose", "grade"],
         "consent": {"no_sharing": {"none": True, "reason": "synthetic data"},
                     "no_commercial": {"none": True, "reason": "synthetic data"}}}


@pytest.fixture
def approved(trial):
    path = trial.root / "datasets/t/dataset.yaml"
    metadata = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**metadata, "release": RULES}, sort_keys=False))
    git(trial.root, "commit", "-qm", "release rules", "--", "datasets/t/dataset.yaml")
    run(trial, "release", "approve", "t@v1", "--by", "Dr Approver")
    return trial


def test_the_plan_names_the_columns(approved):
    plan = json.loads(run(approved, "release", "plan", "t@v1", "--json").stdout)
    assert plan["formula_columns"] == {"noncommercial": ["note", "grade"], "commercial": ["note", "grade"]}
    lines = run(approved, "release", "plan", "t@v1").stdout.splitlines()
    assert f"  noncommercial: in the CSV file, {csvsafe.NOTE}: in note, grade" in lines


def test_a_release_csv_is_neutralised_and_says_so(approved):
    result = run(approved, "release", "t@v1", "--tier", "noncommercial", "--json")
    assert json.loads(result.stdout)["formula_columns"] == ["note", "grade"]
    folder = approved.root / "datasets/t/releases/v1-noncommercial"
    linkage = pq.read_table(approved.root / "datasets/t/linkage/linkage.parquet").to_pydict()
    ids = dict(zip(linkage["key"], linkage["release_id"]))
    expected = '"release_id","arm","note","dose","grade"\n' + "".join(
        ",".join([f'"{ids[key]}"', *CSV_ROWS[key]]) + "\n" for key in sorted(ids, key=ids.get))
    assert (folder / "t.csv").read_bytes().decode() == expected
    released = pq.read_table(folder / "t.parquet").to_pydict()
    assert sorted(zip(released["note"], released["dose"], released["grade"])) == \
        sorted(zip(NOTES, DELIVERY["dose"].to_pylist(), DELIVERY["grade"].to_pylist()))  # as stored
    readme = (folder / "README.txt").read_text()
    assert f"In the CSV file, {csvsafe.NOTE}: in note, grade. The Parquet and SAS transport files hold these " \
           "values as they are." in readme
    assert "  '-                       1    10.0%\n" in readme  # the frequency table shows the value as the CSV does
    grade = next(f for f in json.loads((folder / "datapackage.json").read_text())["resources"][0]["schema"]["fields"]
                 if f["name"] == "grade")
    assert grade["categories"] == [{"value": "'-"}, {"value": "high"}, {"value": "low"}]
    assert grade["description"] == f"in the CSV file, {csvsafe.NOTE}"
    import frictionless

    assert frictionless.validate(folder / "datapackage.json").valid  # the schema describes the CSV as written
