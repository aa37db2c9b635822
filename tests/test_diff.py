"""ipd diff: changed cells, records and variables between versions, explained by the correction log."""

from __future__ import annotations

import json
import math
import statistics

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ipd
from repo.backends import storage
from repo.versions.diff import changed_parts, diff_parts
from repo.versions.lookup import parts_of
from repo.repository import Repository

V1 = {"id": [1, 2, 3, 4, 5, 6], "arm": ["A", "B", "A", "B", "A", "B"], "age": [30, 40, 50, 60, 70, 80],
      "died": [0, 1, 0, 0, 1, 0], "site": ["x", "y", "x", "y", "x", "y"]}


def _csv(path, data):
    pd.DataFrame(data).to_csv(path, index=False)
    return path


def _v2(v1=V1):
    """Age of 2 and the death of 3 corrected, 4 withdrawn, 7 added, bmi supplied."""
    frame = pd.DataFrame(v1)
    frame.loc[frame.id == 2, "age"] = 41
    frame.loc[frame.id == 3, "died"] = 1
    frame = frame[frame.id != 4]
    frame = pd.concat([frame, pd.DataFrame({"id": [7], "arm": ["A"], "age": [33], "died": [0], "site": ["z"]})])
    frame["bmi"] = [20.5, 21.0, 22.5, 23.0, 24.5, 25.0]
    return frame


@pytest.fixture
def trial(tmp_repo, tmp_path):
    """Trial t: v1 delivered, v2 re-delivered with changes."""
    tmp_repo.ingest("t", _csv(tmp_path / "d1.csv", V1), "--key", "id", "--arm", "arm")
    tmp_repo.ingest("t", _csv(tmp_path / "d2.csv", _v2()))
    return tmp_repo


def diff(repo, *args):
    return ipd("diff", *args, "--repo", repo.root)


def diff_json(repo, *args):
    result = diff(repo, *args, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def test_json_lists_every_change_with_keys_as_numbers(trial):
    found = diff_json(trial, "t@v1", "t@v2")
    assert (found["trial"], found["from"], found["to"]) == ("t", "v1", "v2")
    assert found["cells"] == [
        {"key": 2, "column": "age", "old": 40, "new": 41, "correction": None},
        {"key": 3, "column": "died", "old": 0, "new": 1, "correction": None},
    ]
    assert found["added"] == [7] and found["removed"] == [4]
    assert found["columns_added"] == ["bmi"] and found["columns_removed"] == []
    assert found["parts"] == {"read": 1, "skipped": 0}


def test_backwards_diff_swaps_old_and_new(trial):
    found = diff_json(trial, "t@v2", "v1")
    assert (found["from"], found["to"]) == ("v2", "v1")
    assert found["cells"] == [
        {"key": 2, "column": "age", "old": 41, "new": 40, "correction": None},
        {"key": 3, "column": "died", "old": 1, "new": 0, "correction": None},
    ]
    assert found["added"] == [4] and found["removed"] == [7]
    assert found["columns_added"] == [] and found["columns_removed"] == ["bmi"]


def test_a_version_against_itself_is_no_change(trial):
    found = diff_json(trial, "t@v2", "t@v2")
    assert (found["cells"], found["added"], found["removed"], found["columns_added"]) == ([], [], [], [])
    assert found["parts"] == {"read": 0, "skipped": 1}


def test_csv_to_a_file_and_to_stdout(trial, tmp_path):
    expected = ("change,key,column,old,new,correction,reason\n"
                "changed,2,age,40,41,,\n"
                "changed,3,died,0,1,,\n"
                "added,7,,,,,\n"
                "removed,4,,,,,\n"
                "column added,,bmi,,,,\n")
    result = diff(trial, "t@v1", "v2", "--csv", tmp_path / "changes.csv")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "changes.csv").read_text() == expected
    assert "2 cells changed, 1 record added, 1 removed, 1 column added" in result.stdout
    result = diff(trial, "t@v1", "v2", "--csv", "-")
    assert result.exit_code == 0 and result.stdout == expected


def test_terminal_output_names_each_change(trial):
    result = diff(trial, "t@v1", "t@v2")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "t: v1 → v2: 2 cells changed, 1 record added, 1 removed, 1 column added (1 part of 1 read)"
    assert any(line.split() == ["│", "2", "│", "age", "│", "40", "│", "41", "│", "-", "│"] for line in lines)
    assert "column added: bmi (-)" in lines


def test_string_keys_and_values(tmp_repo, tmp_path):
    # Columns named like the join's own aliases are compared like any other.
    v1 = {"pid": ["P-010", "P-002", "P-003"], "sex": ["F", "M", "F"], "visit": ["2020-01-05", "2020-02-01", ""],
          "n": [1, 2, 3], "o": [1, 1, 1]}
    v2 = {"pid": ["P-010", "P-002", "P-004"], "sex": ["F", "F", "M"], "visit": ["2020-01-06", "2020-02-01", ""],
          "n": [1, 5, 3], "o": [1, 1, 1]}
    tmp_repo.ingest("s", _csv(tmp_path / "s1.csv", v1), "--key", "pid")
    tmp_repo.ingest("s", _csv(tmp_path / "s2.csv", v2))
    found = diff_json(tmp_repo, "s@v1", "s@v2")
    assert found["cells"] == [
        {"key": "P-002", "column": "sex", "old": "M", "new": "F", "correction": None},
        {"key": "P-002", "column": "n", "old": 2, "new": 5, "correction": None},
        {"key": "P-010", "column": "visit", "old": "2020-01-05", "new": "2020-01-06", "correction": None},
    ]
    assert found["added"] == ["P-004"] and found["removed"] == ["P-003"]


def test_a_narrower_integer_type_is_not_a_change(tmp_repo, tmp_path):
    tmp_repo.ingest("t", _csv(tmp_path / "d1.csv", V1), "--key", "id")
    table = pa.table({"id": pa.array(V1["id"], pa.int32()), "arm": V1["arm"],
                      "age": pa.array(V1["age"], pa.int16()), "died": pa.array(V1["died"], pa.int8()),
                      "site": V1["site"]})
    pq.write_table(table, tmp_path / "d1.parquet")
    assert tmp_repo.ipd("ingest", "t", tmp_path / "d1.parquet").exit_code == 2  # the same rows: no version
    pq.write_table(table.slice(0, 5), tmp_path / "d2.parquet")  # narrower types, and participant 6 gone
    tmp_repo.ingest("t", tmp_path / "d2.parquet")
    found = diff_json(tmp_repo, "t@v1", "t@v2")
    assert (found["cells"], found["added"], found["removed"]) == ([], [], [6])


# --- several parts: only those whose hashes differ are read --------------------------------------------

ROWS = 20_000  # more than one part's worth (16,384): two parts
CHANGED = {key: -key for key, part in parts_of(duckdb.connect(), list(range(1, 40)), "BIGINT", 2).items()
           if part == "part-00001.parquet"}  # keys of one part only


@pytest.fixture
def large(tmp_repo, tmp_path):
    ids = list(range(1, ROWS + 1))
    v1 = {"id": ids, "x": [i % 97 for i in ids], "arm": ["A" if i % 2 else "B" for i in ids]}
    tmp_repo.ingest("big", _csv(tmp_path / "b1.csv", v1), "--key", "id")
    v2 = dict(v1, x=list(v1["x"]))
    for key, value in CHANGED.items():
        v2["x"][key - 1] = value
    tmp_repo.ingest("big", _csv(tmp_path / "b2.csv", v2))
    return tmp_repo


def test_unchanged_parts_are_not_read(large):
    repository = Repository(large.root)
    dataset = repository.dataset("big")
    old, new = dataset.version("v1").record, dataset.version("v2").record
    assert old.nparts == 2
    changed = changed_parts(old, new)
    unchanged = [p for p in old.parts if p.name not in changed]
    assert len(changed) == 1 and len(unchanged) == 1
    # The unchanged part's bytes are gone from the cache and the remote: reading them would fail.
    storage.cache_path(large.root, unchanged[0].md5).unlink()
    (large.remote / "files" / "md5" / unchanged[0].md5[:2] / unchanged[0].md5[2:]).unlink()
    found = diff_json(large, "big@v1", "big@v2")
    assert found["cells"] == [{"key": k, "column": "x", "old": k, "new": -k, "correction": None} for k in CHANGED]
    assert found["parts"] == {"read": 1, "skipped": 1}
    assert not storage.cache_path(large.root, unchanged[0].md5).exists()
    # The whole version cannot be read any more, so the diff really did without that part.
    with pytest.raises(Exception, match="in neither the DVC cache nor the remote"):
        dataset.version("v1").files()


def test_diff_parts_needs_only_the_changed_files(large):
    dataset = Repository(large.root).dataset("big")
    old, new = dataset.version("v1"), dataset.version("v2")
    names = changed_parts(old.record, new.record)
    only = {n: p for n, p in old.part_files().items() if n in names}
    result = diff_parts(old.record, only, new.record, {n: p for n, p in new.part_files().items() if n in names})
    assert [(c.key, c.column, c.old, c.new) for c in result.cells] == [(k, "x", k, -k) for k in CHANGED]
    assert result.parts_read == names and result.parts_skipped == 1
    assert result.counts() == {"cells": len(CHANGED), "added": 0, "removed": 0, "columns_added": [], "columns_removed": []}


# --- the re-analysis summary ---------------------------------------------------------------------------

def _d(old_ages: list[float], new_ages: list[float]) -> float:
    return round((statistics.mean(new_ages) - statistics.mean(old_ages)) /
                 math.sqrt((statistics.variance(old_ages) + statistics.variance(new_ages)) / 2), 4)


def test_summary_shows_counts_events_and_balance_per_arm(tmp_repo, tmp_path):
    tmp_repo.ingest("t", _csv(tmp_path / "d1.csv", V1), "--key", "id", "--arm", "arm")
    yaml = tmp_repo.root / "datasets/t/dataset.yaml"
    # Roles declared with the re-delivery are used for v1 too: its columns are the same.
    yaml.write_text(yaml.read_text().replace("  arm: arm\n", "  arm: arm\n  death_flag: died\n  baseline: age\n"))
    tmp_repo.ingest("t", _csv(tmp_path / "d2.csv", _v2()))
    result = diff(tmp_repo, "t@v1", "v2", "--summary", "--json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    figures = [(f["figure"], f["arm"], f["old"], f["new"], f["moved"]) for f in found["figures"]]
    d_old, d_new = _d([30, 50, 70], [40, 60, 80]), _d([30, 50, 70, 33], [41, 80])
    assert figures == [
        ("participants", None, 6, 6, False),
        ("participants", "A", 3, 4, True),
        ("participants", "B", 3, 2, True),
        ("events: death flag (died)", None, 2, 3, True),
        ("events: death flag (died)", "A", 1, 2, True),
        ("events: death flag (died)", "B", 1, 1, False),
        ("balance: age (d against arm A)", "B", d_old, d_new, True),
    ]
    assert found["arms"] == ["A", "B"] and found["notes"] == []
    assert found["changes"] == {"cells": 2, "added": 1, "removed": 1, "columns_added": ["bmi"],
                                "columns_removed": []}
    text = diff(tmp_repo, "t@v1", "v2", "--summary").stdout
    assert ["participants", "A", "3", "4", "+1"] in [line.replace("│", " ").split() for line in text.splitlines()]
    assert "baseline balance: 1 of 1 standardised difference moved (by 0.005 or more, or across 0.1)" in text


def test_summary_without_arms_gives_overall_counts(tmp_repo, tmp_path):
    tmp_repo.ingest("t", _csv(tmp_path / "d1.csv", V1), "--key", "id")
    tmp_repo.ingest("t", _csv(tmp_path / "d2.csv", _v2()))
    found = json.loads(diff(tmp_repo, "t@v1", "v2", "--summary", "--json").stdout)
    assert [(f["figure"], f["arm"], f["old"], f["new"]) for f in found["figures"]] == [("participants", None, 6, 6)]
    assert found["notes"] == ["no arm role in dataset.yaml: figures are for all participants"]


# --- references ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "message"), [
    ("t@v1", "t@v9", "t has no version v9 (latest is v2)"),
    ("t@v1", "v9", "t has no version v9 (latest is v2)"),
    ("t@v1", "u@v2", "t@v1 and u@v2 are versions of different trials; ipd diff compares versions of one trial"),
    ("t@x", "v2", "invalid version 'x': versions are named v1, v2, …"),
])
def test_bad_references_are_one_line_errors(trial, a, b, message):
    before = trial.state()
    result = diff(trial, a, b)
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"
    assert trial.state() == before


def test_unknown_trial(trial):
    result = diff(trial, "nope@v1", "v2")
    assert result.exit_code == 2
    assert result.stderr == f"error: no trial 'nope' in {trial.root} (see `ipd list`)\n"


def test_json_and_csv_cannot_both_use_stdout(trial):
    result = diff(trial, "t@v1", "v2", "--json", "--csv", "-")
    assert result.exit_code == 2
    assert result.stderr == "error: --json and --csv - both write to standard output: give --csv a file name\n"


# --- corrections: each change names the log entry that explains it ----------------------------------------

@pytest.fixture
def corrected(tmp_repo, tmp_path):
    """t@v1 delivered; v2 cut from four corrections (c1–c4); v3 a re-delivery that overtakes c1."""
    tmp_repo.ingest("t", _csv(tmp_path / "d1.csv", V1), "--key", "id", "--arm", "arm")
    _csv(tmp_path / "late.csv", {"id": [8], "arm": ["B"], "age": [55], "died": [0], "site": ["x"]})
    _csv(tmp_path / "labs.csv", {"id": [1, 2, 3, 4, 6], "cd4": [300, 310, 320, 330, 340]})
    for args in (["--key", "2", "--column", "age", "--value", "45", "--reason", "CRF page 2: typo"],
                 ["--remove", "--key", "5", "--reason", "duplicate of 1"],
                 ["--add", tmp_path / "late.csv", "--reason", "registered late"],
                 ["--add-column", tmp_path / "labs.csv", "--reason", "CD4 supplied after query round 1"]):
        result = ipd("correct", "t", *args, "--repo", tmp_repo.root)
        assert result.exit_code == 0, result.stderr
    result = ipd("commit", "t", "-m", "query round 1", "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.stdout + result.stderr
    return tmp_repo


def test_corrected_version_names_its_corrections(corrected):
    found = diff_json(corrected, "t@v1", "t@v2")
    assert found["cells"] == [{"key": 2, "column": "age", "old": 40, "new": 45, "correction": "c1"}]
    assert found["added"] == [8] and found["removed"] == [5] and found["columns_added"] == ["cd4"]
    assert found["explained"] == {"added": [{"key": 8, "correction": "c3"}],
                                  "removed": [{"key": 5, "correction": "c2"}],
                                  "columns_added": [{"column": "cd4", "correction": "c4"}], "columns_removed": []}
    assert {i: c["reason"] for i, c in found["corrections"].items()} == {
        "c1": "CRF page 2: typo", "c2": "duplicate of 1", "c3": "registered late",
        "c4": "CD4 supplied after query round 1"}
    text = diff(corrected, "t@v1", "v2").stdout
    assert ["2", "age", "40", "45", "c1:", "CRF", "page", "2:", "typo"] in \
        [line.replace("│", " ").split() for line in text.splitlines()]
    assert "column added: cd4 (c4: CD4 supplied after query round 1)" in text


def test_backwards_the_same_corrections_explain_the_reversal(corrected, tmp_path):
    result = diff(corrected, "t@v2", "v1", "--csv", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("change,key,column,old,new,correction,reason\n"
                             "changed,2,age,45,40,c1,CRF page 2: typo\n"
                             "added,5,,,,c2,duplicate of 1\n"
                             "removed,8,,,,c3,registered late\n"
                             "column removed,,cd4,,,c4,CD4 supplied after query round 1\n")


def test_a_redelivery_overtaking_a_correction_is_not_explained_by_it(corrected, tmp_path):
    v3 = pd.DataFrame(V1)
    v3.loc[v3.id == 2, "age"] = 47
    corrected.ingest("t", _csv(tmp_path / "d3.csv", v3))
    found = diff_json(corrected, "t@v1", "t@v3")
    assert found["cells"] == [{"key": 2, "column": "age", "old": 40, "new": 47, "correction": None}]
    assert (found["added"], found["removed"], found["corrections"]) == ([], [], {})
    back = diff_json(corrected, "t@v3", "t@v2")
    assert back["cells"] == [{"key": 2, "column": "age", "old": 47, "new": 45, "correction": None}]
    assert back["explained"]["added"] == [{"key": 8, "correction": None}]
