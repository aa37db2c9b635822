"""``ipd expect``: editing a trial's suite, each edit one commit."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import git


@pytest.fixture
def trial(tmp_repo, tmp_path):
    delivery = tmp_path / "d.csv"
    pd.DataFrame({"id": [1, 2, 3], "sbp": [120, 135, 128]}).to_csv(delivery, index=False)
    tmp_repo.ingest("t", delivery, "--key", "id")
    return tmp_repo


def expect(trial, *args: str):
    return trial.ipd("expect", *args, "--repo", trial.root)


def test_a_baseline_written_again_over_itself_changes_nothing(trial):
    before = trial.state()
    result = expect(trial, "baseline", "t", "--replace")
    assert result.exit_code == 0, result.stderr
    count = len(json.loads((trial.root / "expectations/t.json").read_text())["expectations"])
    assert result.stdout == (f"expectations/t.json: baseline suite of {count} expectations "
                             "(it was already the baseline: nothing changed)\n")
    assert trial.state() == before


def test_add_then_remove_are_one_commit_each(trial):
    head = git(trial.root, "rev-parse", "HEAD")
    assert expect(trial, "add", "t", "expect_column_values_to_be_between", "column=sbp", "min_value=60",
                  "max_value=260").exit_code == 0
    count = len(json.loads((trial.root / "expectations/t.json").read_text())["expectations"])
    removed = expect(trial, "remove", "t", str(count))
    assert removed.exit_code == 0, removed.stderr
    assert git(trial.root, "log", "--format=%s", f"{head}..HEAD").splitlines() == [
        f"t: remove expectation {count}, expect_column_values_to_be_between",
        "t: expect expect_column_values_to_be_between(sbp)"]
    missing = expect(trial, "remove", "t", str(count))
    assert missing.exit_code == 2
    assert missing.stderr == (f"error: expectations/t.json has no expectation {count} (it has {count - 1}; "
                              "see `ipd expect list t`)\n")
