"""A commit killed at any point leaves the repository as it was, with the corrections still staged."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import repo
from conftest import JOURNAL, assert_sound, git, start_ipd, wait_for

ROWS = 200_000


@pytest.fixture
def staged_trial(tmp_repo, tmp_path):
    rng = np.random.default_rng(4)
    delivery = tmp_path / "big.csv"
    pacsv.write_csv(pa.table({"pid": np.arange(1, ROWS + 1), "x": rng.integers(0, 5, ROWS),
                              "y": rng.normal(size=ROWS).round(3)}), delivery)
    tmp_repo.ingest("big", delivery, "--key", "pid")
    fixes = tmp_path / "fixes.csv"
    keys = rng.choice(np.arange(1, ROWS + 1), 100, replace=False)
    fixes.write_text("key,column,value,reason\n" + "".join(f"{k},y,{(k % 1000) / 1000 + 0.0001:.4f},re-keyed from the CRF\n" for k in keys))
    result = tmp_repo.ipd("correct", "big", "--file", fixes, "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.stderr
    return tmp_repo


def _kill_commit(tmp_repo, trigger: str, delay: float) -> dict:
    root = tmp_repo.root
    before = tmp_repo.state()
    process = start_ipd(root, "commit", "big", "-m", "100 corrections")
    assert wait_for(root / trigger, process) or process.wait() == 0, process.communicate()
    time.sleep(delay)
    exited = process.poll() is not None
    if not exited:
        os.killpg(process.pid, signal.SIGKILL)
    stdout, stderr = process.communicate()
    assert not exited or process.returncode == 0, stdout + stderr
    interrupted = (root / JOURNAL).exists()
    # a fast machine may finish the commit (journal gone, tag made) before the kill lands
    finished = exited or (not interrupted and "big/v2" in git(root, "tag", "--list").split())
    listed = tmp_repo.ipd("correct", "big", "--list", "--json", "--repo", root)  # undoes what was left
    assert listed.exit_code == 0, listed.stderr
    return {"before": before, "after": tmp_repo.state(), "interrupted": interrupted, "finished": finished}


def test_a_commit_killed_part_way_leaves_everything_as_it_was(staged_trial):
    root = staged_trial.root
    # killed while git commits: everything else is written by then
    hook = root / ".git/hooks/pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch '{root}/.git/ipd/committing'\nsleep 30\n")
    hook.chmod(0o755)
    outcomes = [_kill_commit(staged_trial, ".git/ipd/committing", 0.0)]
    hook.unlink()
    (root / ".git/ipd/committing").unlink()
    # killed at other moments: each run is either undone or, if the machine was fast enough, complete
    finished = False
    for delay in (0.0, 0.3, 0.6):
        outcome = _kill_commit(staged_trial, JOURNAL, delay)
        if outcome["finished"]:
            finished = True
            break
        outcomes.append(outcome)

    rolled_back = [o for o in outcomes if o["interrupted"]]
    assert len(rolled_back) >= 2
    assert all(o["after"] == o["before"] for o in outcomes)
    if not finished:
        assert git(root, "tag", "--list", "big/*").split() == ["big/v1"]
        assert len(staged_trial.ipd("correct", "big", "--list", "--json", "--repo", root).stdout.split('"id"')) == 101
        result = staged_trial.ipd("commit", "big", "-m", "100 corrections", "--repo", root)
        assert result.exit_code == 0, result.stderr
    assert assert_sound(root, "big") == ["v1", "v2"]
    v2 = repo.open(root).dataset("big").version("v2").record
    assert len(v2.corrections) == 100
