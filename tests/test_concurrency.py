"""Concurrent writers: every read-modify-write of repository state happens under the lock, so none is lost."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import git, start_ipd

WRITERS = 8


@pytest.fixture
def trial(tmp_repo, tmp_path):
    delivery = tmp_path / "d.csv"
    pd.DataFrame({"id": range(1, WRITERS + 1), "sbp": [120 + i for i in range(WRITERS)],
                  "dbp": [80 + i for i in range(WRITERS)]}).to_csv(delivery, index=False)
    tmp_repo.ingest("t", delivery, "--key", "id")
    return tmp_repo


def _all_at_once(root, commands: list[list[str]]) -> None:
    """Start every command at once, as separate processes, and wait for them all to succeed."""
    processes = [start_ipd(root, *command, IPD_LOCK_TIMEOUT="120") for command in commands]
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stdout + stderr


def test_concurrent_corrections_are_all_staged(trial):
    _all_at_once(trial.root, [["correct", "t", "--key", str(k), "--column", "sbp", "--value", str(130 + k),
                               "--reason", f"CRF page {k}"] for k in range(1, WRITERS + 1)])
    listed = trial.ipd("correct", "t", "--list", "--json", "--repo", trial.root)
    entries = json.loads(listed.stdout)
    assert sorted(e["id"] for e in entries) == sorted(f"s{n}" for n in range(1, WRITERS + 1))
    assert sorted((e["key"], e["new"]) for e in entries) == [(k, 130 + k) for k in range(1, WRITERS + 1)]


def test_concurrent_queries_are_all_opened_with_distinct_ids(trial):
    _all_at_once(trial.root, [["query", "open", "t", "--key", str(k), "--column", "sbp",
                               "--text", f"please confirm sbp of {k}"] for k in range(1, WRITERS + 1)])
    listed = trial.ipd("query", "list", "t", "--json", "--repo", trial.root)
    queries = json.loads(listed.stdout)
    assert sorted(q["query"] for q in queries) == sorted(f"t-q{n}" for n in range(1, WRITERS + 1))
    assert sorted(q["key"] for q in queries) == list(range(1, WRITERS + 1))


def test_concurrent_expectation_edits_are_all_kept(trial):
    before = len(json.loads((trial.root / "expectations/t.json").read_text())["expectations"])
    _all_at_once(trial.root, [["expect", "add", "t", "expect_column_values_to_be_between", "column=sbp",
                               f"min_value={k}", "max_value=300"] for k in range(1, WRITERS + 1)])
    suite = json.loads((trial.root / "expectations/t.json").read_text())["expectations"]
    added = sorted(e["kwargs"]["min_value"] for e in suite[before:])
    assert len(suite) == before + WRITERS and added == list(range(1, WRITERS + 1))
    assert git(trial.root, "status", "--porcelain") == ""


def test_concurrent_consent_statements_are_both_kept(trial):
    reason = "public data set; no consent restrictions were delivered"
    _all_at_once(trial.root, [["release", "consent", "t", "--refused", kind, "--none", "--reason", reason]
                              for kind in ("sharing", "commercial")])
    listed = json.loads(trial.ipd("release", "consent", "t", "--json", "--repo", trial.root).stdout)
    assert listed["missing"] == {"noncommercial": [], "commercial": []}
