"""Release notes: what changed in the released values between two releases of a tier, with only the reasons a
curator made public. Real git, DVC and packages; compare() on small Arrow tables."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import repo
from conftest import git, ipd, own_home
from repo.corrections import log as correctionlog
from repo.errors import InvalidInput
from repo.release.notes import (
    CELL,
    COLUMN_ADDED,
    COLUMN_REMOVED,
    RECORD_ADDED,
    RECORD_REMOVED,
    Change,
    ReleaseNotes,
    compare,
    notes,
    publishable_reasons,
)
from support.corrections import _csv, commit, correct
from support.releases import RULES, approve, built, deliver, linkage, released, synthetic, write_rules

# wtkg kept as it is: a trimmed variable's thresholds follow the data, so removing one participant could move them
STABLE_RULES = {**copy.deepcopy(RULES), "keep": ["arm", "cd4", "wtkg"],
                "quasi_identifiers": {"karnof": RULES["quasi_identifiers"]["karnof"]}}
SECRET = "pid 1000"  # every restricted reason quotes a participant's key: none may reach the notes


class _Repo:  # what the helpers of support.releases expect of tmp_repo
    def __init__(self, root: Path) -> None:
        self.root = root

    def ingest(self, trial, file, *options):
        result = ipd("ingest", trial, file, *options, "--repo", self.root)
        assert result.exit_code == 0, result.output + result.stderr
        return result


def run(*args) -> None:
    result = ipd(*map(str, args))
    assert result.exit_code == 0, result.output + result.stderr


def chosen() -> dict[str, dict]:
    """The participants the corrections touch: all released in the noncommercial tier."""
    frame = synthetic()
    shared = frame[frame.share_ok == 1]
    old = shared[shared.age >= 92].iloc[0]
    rows = shared[shared.pid != old.pid].iloc[:4]
    return {"cd4": rows.iloc[0].to_dict(), "plain": rows.iloc[1].to_dict(), "name": rows.iloc[2].to_dict(),
            "removed": rows.iloc[3].to_dict(), "old": old.to_dict()}


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """v1 released; v2 corrects a kept column (public reason), another without one, a deleted column (public
    reason), an age above the top code (public reason) and removes a participant (public reason); v2 released."""
    base = tmp_path_factory.mktemp("notes")
    with own_home(base / "home"):
        root = base / "repo"
        run("init", root, "--remote", base / "remote")
        deliver(_Repo(root), synthetic())
        write_rules(root, STABLE_RULES)
        approve(_Repo(root), "t@v1")
        built(_Repo(root), "t@v1", "noncommercial")
        who = chosen()
        run("correct", "t", "--key", int(who["cd4"]["pid"]), "--column", "cd4", "--value", 1111,
            "--reason", f"CRF page 3 of {SECRET}1", "--public-reason", "CD4 count transcribed from the CRF",
            "--repo", root)
        run("correct", "t", "--key", int(who["plain"]["pid"]), "--column", "cd4", "--value", 55,
            "--reason", f"lab sheet of {SECRET}2", "--repo", root)
        run("correct", "t", "--key", int(who["name"]["pid"]), "--column", "name", "--value", "Participant X",
            "--reason", f"spelling, {SECRET}3", "--public-reason", "NAME-REASON-NEVER-PUBLISHED", "--repo", root)
        older = 91 if who["old"]["age"] != 91 else 93
        run("correct", "t", "--key", int(who["old"]["pid"]), "--column", "age", "--value", older,
            "--reason", f"passport of {SECRET}4", "--public-reason", "AGE-REASON-NEVER-PUBLISHED", "--repo", root)
        run("correct", "t", "--remove", "--key", int(who["removed"]["pid"]),
            "--reason", f"{SECRET}5 registered twice", "--public-reason", "Duplicate registration", "--repo", root)
        run("commit", "t", "-m", "query round 1", "--repo", root)
        approve(_Repo(root), "t@v2")
        built(_Repo(root), "t@v2", "noncommercial")
    return root


def test_the_notes_say_exactly_what_requestors_see_changed(history):
    ids, who = linkage(history), chosen()
    found = notes(repo.open(history), "t", "noncommercial", "v2", ids)
    assert (found.trial, found.tier, found.version, found.previous) == ("t", "noncommercial", "v2", "v1")
    cd4, plain = ids[who["cd4"]["pid"]], ids[who["plain"]["pid"]]
    cells = sorted([Change(CELL, cd4, "cd4", str(who["cd4"]["cd4"]), "1111", "CD4 count transcribed from the CRF"),
                    Change(CELL, plain, "cd4", str(who["plain"]["cd4"]), "55", None)], key=Change.sort_key)
    assert found.changes == [Change(RECORD_REMOVED, ids[who["removed"]["pid"]], reason="Duplicate registration"),
                             *cells]
    rows = released(history, "v2").num_rows
    assert found.counts == {"records": rows, "columns": released(history, "v2").num_columns, "cells_changed": 2,
                            "records_added": 0, "records_removed": 1, "columns_added": 0, "columns_removed": 0}
    assert rows == released(history, "v1").num_rows - 1


def test_reasons_of_changes_the_release_does_not_show_never_appear(history):
    found = notes(repo.open(history), "t", "noncommercial", "v2", linkage(history))
    published = found.to_json() + found.to_markdown()
    for hidden in ("NAME-REASON-NEVER-PUBLISHED", "AGE-REASON-NEVER-PUBLISHED", SECRET, "Participant", "name",
                   "passport"):
        assert hidden not in published
    assert {c.column for c in found.changes} == {None, "cd4"}  # the age change stays under the top code


def test_publishable_reasons_are_keyed_by_release_id(history):
    ids, who = linkage(history), chosen()
    reasons = publishable_reasons(repo.open(history), "t", "v1", "v2", ids)
    assert reasons == {(ids[who["cd4"]["pid"]], "cd4"): "CD4 count transcribed from the CRF",
                       (ids[who["name"]["pid"]], "name"): "NAME-REASON-NEVER-PUBLISHED",
                       (ids[who["old"]["pid"]], "age"): "AGE-REASON-NEVER-PUBLISHED",
                       ids[who["removed"]["pid"]]: "Duplicate registration"}
    assert publishable_reasons(repo.open(history), "t", "v2", "v2", ids) == {}


def test_the_first_release_of_a_tier_says_so(history):
    found = notes(repo.open(history), "t", "noncommercial", "v1", linkage(history))
    table = released(history, "v1")
    assert (found.previous, found.changes) == (None, [])
    assert found.to_markdown() == (f"# t v1 (noncommercial) — the first noncommercial release of t: "
                                   f"{table.num_rows} records, {table.num_columns} columns\n")
    assert json.loads(found.to_json())["first"] is True


def test_ipd_release_notes_prints_markdown_and_json(history):
    ids, who = linkage(history), chosen()
    result = ipd("release", "notes", "t@v2", "--tier", "noncommercial", "--repo", history)
    assert result.exit_code == 0, result.output + result.stderr
    rows = sorted([f"| {ids[who['cd4']['pid']]} | cd4 | {who['cd4']['cd4']} | 1111 | CD4 count transcribed from "
                   f"the CRF |", f"| {ids[who['plain']['pid']]} | cd4 | {who['plain']['cd4']} | 55 |  |"])
    assert result.stdout == "\n".join([
        "# t v2 (noncommercial) — changes since v1: 2 cells changed, 0 records added, 1 removed", "",
        "| release ID | column | was | now | reason |", "| --- | --- | --- | --- | --- |",
        f"| {ids[who['removed']['pid']]} | (whole record) |  | removed | Duplicate registration |", *rows]) + "\n"
    result = ipd("release", "notes", "t", "--tier", "noncommercial", "--json", "--repo", history)
    assert result.exit_code == 0, result.output + result.stderr
    data = json.loads(result.stdout)
    assert (data["version"], data["previous"], data["first"], data["counts"]["cells_changed"]) == ("v2", "v1", False, 2)
    assert data["changes"][0] == {"change": "record_removed", "release_id": ids[who["removed"]["pid"]],
                                  "column": None, "old": None, "new": None, "reason": "Duplicate registration"}


def test_unknown_releases_are_one_line_errors(history):
    result = ipd("release", "notes", "t@v2", "--tier", "commercial", "--repo", history)
    assert (result.exit_code, result.stderr.strip()) == (
        2, "error: t@v2 has no commercial release (its commercial releases: none)")
    result = ipd("release", "notes", "t@v2", "--tier", "research", "--repo", history)
    assert result.stderr.strip() == "error: unknown tier 'research'; choose noncommercial or commercial"


def test_a_fresh_clone_reads_the_packages_from_the_release_remote(history, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(history), str(clone))
    assert not (clone / "datasets/t/releases/v1-noncommercial").exists()
    mine = notes(repo.open(history), "t", "noncommercial", "v2", linkage(history))
    result = ipd("release", "notes", "t@v2", "--tier", "noncommercial", "--json", "--repo", clone)
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.stdout) == mine.as_dict()
    path = clone / "datasets/t/releases/v1-noncommercial/t.parquet"
    rows = released(clone, "v1")
    path.unlink()  # never written through: DVC may have linked it to its cache
    pq.write_table(rows.slice(1), path)
    result = ipd("release", "notes", "t@v2", "--tier", "noncommercial", "--repo", clone)
    assert result.stderr.strip() == ("error: datasets/t/releases/v1-noncommercial/t.parquet is not the file its "
                                     "release record names (its SHA-256 differs); run `ipd verify`")


# -- --public-reason ---------------------------------------------------------------------------------------

ROWS = {"pid": [1, 2, 3], "arm": ["A", "B", "A"], "age": [34, 45, 51]}


@pytest.fixture
def small(tmp_repo, tmp_path):
    tmp_repo.ingest("t", _csv(tmp_path / "d1.csv", ROWS), "--key", "pid", "--arm", "arm")
    return tmp_repo


def test_a_public_reason_is_staged_listed_and_logged(small, tmp_path):
    result = correct(small, "--key", "2", "--column", "age", "--value", "46", "--reason", "CRF of pid 2 says 46",
                     "--public-reason", "Age transcribed from the CRF")
    assert result.stdout.strip() == "staged s1: 2/age: 45 -> 46 — CRF of pid 2 says 46 [public: Age transcribed from the CRF]"
    result = correct(small, "--remove", "--key", "3", "--reason", "pid 3 twice", "--public-reason", "Duplicate")
    assert result.exit_code == 0, result.stderr
    late = _csv(tmp_path / "late.csv", {"pid": [4], "arm": ["B"], "age": [40]})
    assert correct(small, "--add", late, "--reason", "pid 4 late", "--public-reason", "Registered late").exit_code == 0
    listed = correct(small, "--list")
    assert listed.stdout.splitlines() == [
        "staged s1: 2/age: 45 -> 46 — CRF of pid 2 says 46 [public: Age transcribed from the CRF]",
        "staged s2: remove record 3 — pid 3 twice [public: Duplicate]",
        "staged s3: add record 4 — pid 4 late [public: Registered late]"]
    assert [e["public_reason"] for e in json.loads(correct(small, "--list", "--json").stdout)] == [
        "Age transcribed from the CRF", "Duplicate", "Registered late"]
    assert commit(small, "-m", "round 1").exit_code == 0
    logged = small.ipd("log", "t", "--corrections")
    assert logged.stdout.splitlines()[0].endswith(": 2/age: 45 -> 46 — CRF of pid 2 says 46 "
                                                  "[public: Age transcribed from the CRF]")
    assert [json.loads(line)["public_reason"] for line in
            (small.root / "datasets/t/corrections.jsonl").read_text().splitlines()] == [
        "Age transcribed from the CRF", "Duplicate", "Registered late"]


def test_a_file_gives_public_reasons_in_a_column(small, tmp_path):
    fixes = _csv(tmp_path / "fixes.csv", {"key": [1, 2], "column": ["age", "age"], "value": [35, 44],
                                          "reason": ["pid 1 CRF", "pid 2 CRF"], "public_reason": ["Typo", ""]})
    assert correct(small, "--file", fixes).exit_code == 0
    assert [(e["id"], e["public_reason"]) for e in json.loads(correct(small, "--list", "--json").stdout)] == [
        ("s1", "Typo"), ("s2", None)]
    result = correct(small, "--file", fixes, "--public-reason", "Typo")
    assert result.stderr.strip() == ("error: --public-reason goes with one correction; give a file's in its "
                                      "public_reason column")


def test_an_empty_public_reason_is_refused(small):
    result = correct(small, "--key", "2", "--column", "age", "--value", "46", "--reason", "CRF", "--public-reason", " ")
    assert result.stderr.strip() == ("error: the public reason is empty: leave --public-reason out if the reason is "
                                     "not to be published")
    assert not (small.root / "datasets/t/staged.jsonl").exists()


def test_entries_without_a_public_reason_are_written_as_before(small):
    old = ('{"id": "c1", "action": "update", "key": 2, "column": "age", "old": 45, "new": 46, "reason": "CRF", '
           '"query": null, "author": "A <a@example.org>", "time": "2024-01-01T00:00:00Z", "base": "v1", '
           '"version": "v2", "applied": "2024-01-02T00:00:00Z"}\n')
    [entry] = correctionlog.parse(old, "corrections.jsonl")
    assert entry.public_reason is None and entry.to_line() == old
    assert correct(small, "--key", "2", "--column", "age", "--value", "46", "--reason", "CRF").exit_code == 0
    assert "public_reason" not in (small.root / "datasets/t/staged.jsonl").read_text()


# -- compare on small tables -----------------------------------------------------------------------------


def table(**columns) -> pa.Table:
    return pa.table(columns)


def test_compare_finds_records_added_removed_and_cells_changed():
    old = table(release_id=["R1", "R2", "R3"], age=[30, 40, None], arm=["A", "B", "A"])
    new = table(release_id=["R4", "R3", "R1"], age=[50, 41, 30], arm=["B", "A", "B"])
    assert compare(old, new) == [Change(RECORD_REMOVED, "R2"), Change(RECORD_ADDED, "R4"),
                                 Change(CELL, "R1", "arm", "A", "B"), Change(CELL, "R3", "age", "", "41")]


def test_compare_renders_values_as_the_release_writes_them():
    old = table(release_id=["R1", "R2"], day=[dt.date(2020, 1, 2), None], dose=[1.5, 2.0], ok=[True, False])
    new = table(release_id=["R1", "R2"], day=[None, dt.date(2021, 3, 4)], dose=[1.5, 3.0], ok=[False, False])
    assert compare(old, new) == [Change(CELL, "R1", "day", "2020-01-02", ""), Change(CELL, "R1", "ok", "true", "false"),
                                 Change(CELL, "R2", "day", "", "2021-03-04"), Change(CELL, "R2", "dose", "2", "3")]


def test_compare_across_a_type_change_compares_text():
    old = table(release_id=["R1", "R2", "R3"], karnof=[90, 100, 80])
    new = table(release_id=["R1", "R2", "R3"], karnof=pa.array(["90", "100", "<=90"]))
    assert compare(old, new) == [Change(CELL, "R3", "karnof", "80", "<=90")]
    floats = table(release_id=["R1", "R2", "R3"], karnof=pa.array([90.0, 100.0, 80.5]))
    assert compare(old, floats) == [Change(CELL, "R3", "karnof", "80", "80.5")]


def test_compare_names_columns_added_and_removed():
    old = table(release_id=["R1"], a=[1], gone=["x"])
    new = table(release_id=["R1"], a=[1], bmi=[22.5], **{"odd \"name\"": [1]})
    assert compare(old, new) == [Change(COLUMN_ADDED, column="bmi"), Change(COLUMN_ADDED, column='odd "name"'),
                                 Change(COLUMN_REMOVED, column="gone")]


def test_compare_without_a_previous_release_adds_everything():
    new = table(release_id=["R2", "R1"], a=[1, 2])
    assert compare(None, new) == [Change(COLUMN_ADDED, column="a"), Change(RECORD_ADDED, "R1"),
                                  Change(RECORD_ADDED, "R2")]


def test_compare_refuses_tables_it_cannot_match():
    with pytest.raises(InvalidInput, match="the previous release has no column 'release_id'"):
        compare(table(id=["R1"]), table(release_id=["R1"]))
    with pytest.raises(InvalidInput, match="release_id of the current release is missing or repeated"):
        compare(table(release_id=["R1"]), table(release_id=["R1", "R1"]))


def test_compare_is_fast_on_a_million_rows():
    import time

    import numpy as np

    n = 1_000_000
    ids = pa.array([f"R{i:07d}" for i in range(n)])
    old = table(release_id=ids, a=pa.array(np.arange(n)), b=pa.array(np.arange(n) * 0.5), c=pa.array(np.arange(n) % 7))
    b = np.arange(n) * 0.5
    b[::100_000] = -1
    new = table(release_id=ids, a=pa.array(np.arange(n)), b=pa.array(b), c=pa.array((np.arange(n) % 7).astype("int32")))
    started = time.monotonic()
    found = compare(old, new)
    assert time.monotonic() - started < 20
    assert [(c.release_id, c.old, c.new) for c in found] == [(f"R{i:07d}", str(i * 0.5).removesuffix(".0"), "-1")
                                                              for i in range(0, n, 100_000)]


def test_markdown_truncates_long_lists_and_keeps_cells_whole():
    changes = [Change(CELL, f"R{i:07d}", "note", "a|b", "c\nd") for i in range(60)]
    found = ReleaseNotes("t", "commercial", "v3", "v1", {"records": 60, "columns": 2, "cells_changed": 60,
                                                          "records_added": 0, "records_removed": 0,
                                                          "columns_added": 0, "columns_removed": 0}, changes)
    text = found.to_markdown()
    assert text.splitlines()[0] == "# t v3 (commercial) — changes since v1: 60 cells changed, 0 records added, 0 removed"
    assert "| R0000000 | note | a\\|b | c d |  |" in text
    assert text.count("| R") == 50
    assert text.endswith("… and 10 more changes, listed in the JSON release notes.\n")
    assert len(json.loads(found.to_json())["changes"]) == 60
    assert found.to_json() == found.to_json()
