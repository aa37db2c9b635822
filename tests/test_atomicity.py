"""All or nothing, with real processes: an ingest killed part-way leaves no trace, and the lock keeps writers apart."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from filelock import FileLock

import repo
from conftest import JOURNAL, assert_sound, git, one_line_error, start_ipd, wait_for

ROWS = 200_000  # enough for an ingest to take a couple of seconds, so kills land part-way


@pytest.fixture(scope="module")
def big_deliveries(tmp_path_factory) -> tuple[Path, Path]:
    """Two deliveries of 200,000 participants × 10 columns; the second corrects one column."""
    base = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(175)
    columns = {"pid": np.arange(1, ROWS + 1)}
    for i in range(9):
        columns[f"x{i}"] = rng.normal(size=ROWS).round(4) if i % 2 else rng.integers(0, 5, ROWS)
    first, second = base / "big-1.csv", base / "big-2.csv"
    pacsv.write_csv(pa.table(columns), first)
    columns["x0"] = columns["x0"] + 1
    pacsv.write_csv(pa.table(columns), second)
    return first, second


def _csv(path: Path, rows: dict) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def t1(tmp_repo, tmp_path):
    tmp_repo.ingest("t1", _csv(tmp_path / "d1.csv", {"id": [1, 2, 3], "sbp": [120, 135, 128]}), "--key", "id")
    return tmp_repo


# -- killed part-way -------------------------------------------------------------------------------------

def _kill_ingest(tmp_repo, trial: str, delivery: Path, trigger: str | None, delay: float | None,
                 *options: str) -> dict:
    """Start an ingest and SIGKILL it ``delay`` s after ``trigger`` (a path under the root) appeared, or
    after it started (``trigger`` None), or never (``delay`` None); then let any ipd command find
    what it left. Returns what happened."""
    root = tmp_repo.root
    journal = root / ".git/ipd/journal.json"
    before = tmp_repo.state()
    process = start_ipd(root, "ingest", trial, delivery, *options)
    if trigger:
        assert wait_for(root / trigger, process) or process.wait() == 0, process.communicate()
    if delay is None:
        process.wait(timeout=120)
    time.sleep(delay or 0)
    finished = process.poll() is not None
    if not finished:
        os.killpg(process.pid, signal.SIGKILL)
    stdout, stderr = process.communicate()
    assert not finished or process.returncode == 0, stdout + stderr
    interrupted = journal.exists()
    listed = tmp_repo.ipd("list", "--json")  # any command: it undoes an interrupted change first
    assert listed.exit_code == 0, listed.output + listed.stderr
    assert not journal.exists()
    return {"before": before, "after": tmp_repo.state(), "interrupted": interrupted, "finished": finished}


def _check_outcome(tmp_repo, trial: str, outcome: dict, versions: int) -> int:
    """Either exactly the state before the killed ingest, or a complete next version; returns the count."""
    if outcome["after"] == outcome["before"]:
        return versions
    assert not outcome["interrupted"], "an interrupted ingest was not undone"
    assert assert_sound(tmp_repo.root, trial) == [f"v{n}" for n in range(1, versions + 2)]
    return versions + 1




def test_an_ingest_killed_part_way_leaves_the_repository_as_it_was(tmp_repo, tmp_path, big_deliveries):
    first, second = big_deliveries
    tmp_repo.ingest("small", _csv(tmp_path / "small.csv", {"id": [1, 2], "sbp": [120, 130]}), "--key", "id")
    outcomes = []

    # a new trial, killed while it writes its parts: the trial must vanish without a trace
    outcome = _kill_ingest(tmp_repo, "big", first, JOURNAL, 0.3, "--key", "pid")
    versions = _check_outcome(tmp_repo, "big", outcome, 0)
    outcomes.append(outcome)
    if versions == 0:
        assert not (tmp_repo.root / "datasets/big").exists() and not (tmp_repo.root / "provenance/big").exists()
        tmp_repo.ingest("big", first, "--key", "pid")
        versions = 1

    # re-deliveries, killed at every stage: while starting; while writing parts; storing them in DVC;
    # just after the records and dataset.yaml are written (around the commit and tag); then left alone
    def record() -> str:
        return f"datasets/big/versions/v{versions + 1}.json"

    for trigger, delay in [(None, 0.2), (JOURNAL, 0.0), (JOURNAL, 0.4), (JOURNAL, 0.9), (record, 0.0),
                           (record, 0.01), (JOURNAL, None)]:
        outcome = _kill_ingest(tmp_repo, "big", second, trigger() if callable(trigger) else trigger, delay)
        versions = _check_outcome(tmp_repo, "big", outcome, versions)
        outcomes.append(outcome)

    rolled_back = [o for o in outcomes if o["interrupted"]]
    assert len(rolled_back) >= 3, "too few kills landed while an ingest was writing"
    assert all(o["after"] == o["before"] for o in rolled_back)
    assert outcomes[-1]["finished"] and versions >= 2  # left alone, the ingest completes, after all those kills

    assert assert_sound(tmp_repo.root, "big") == [f"v{n}" for n in range(1, versions + 1)]
    assert assert_sound(tmp_repo.root, "small") == ["v1"]
    dataset = repo.open(tmp_repo.root).dataset("big")
    x0 = dataset.version(f"v{versions}").duckdb().aggregate("sum(x0)").fetchall()[0][0]
    assert x0 == dataset.version("v1").duckdb().aggregate("sum(x0)").fetchall()[0][0] + ROWS


def test_git_locks_left_by_a_killed_git_are_cleared_by_the_rollback(t1, tmp_path):
    """Killed while git was committing, a command leaves git's lock files; they must not block the next one."""
    from repo.backends.git import Git
    from repo.repository.transaction import Transaction

    before = t1.state()
    scm = Git(t1.root)
    txn = Transaction(scm)
    txn.begin(["datasets/t1", "provenance/t1"])
    txn.will_tag("t1/v2")
    (t1.root / "datasets/t1/dataset.yaml").write_text("half-written: [")
    for lock in ("index.lock", "refs/heads/main.lock", "refs/tags/t1/v2.lock", "next-index-4242.lock"):
        (scm.git_dir / lock).parent.mkdir(parents=True, exist_ok=True)
        (scm.git_dir / lock).write_bytes(b"")
    listed = t1.ipd("list")  # finds the journal (its writer is gone) and undoes the change
    assert listed.exit_code == 0, listed.output + listed.stderr
    assert t1.state() == before
    assert not list(scm.git_dir.glob("**/*.lock"))
    t1.ingest("t1", _csv(tmp_path / "d2.csv", {"id": [1, 2, 3, 4], "sbp": [1, 2, 3, 4]}))
    assert assert_sound(t1.root, "t1") == ["v1", "v2"]


# -- failures after everything is written ----------------------------------------------------------------

def test_a_commit_refused_by_a_git_hook_leaves_everything_as_it_was(t1, tmp_path):
    hook = t1.root / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    meta = t1.root / "datasets/t1/dataset.yaml"  # rewritten by the ingest just before it commits
    meta.write_text(meta.read_text().replace("- name: sbp\n", "- name: sbp\n  label: Systolic BP (mmHg)\n"))
    before = t1.state()
    result = t1.ipd("ingest", "t1", _csv(tmp_path / "d2.csv", {"id": [1, 2, 3, 4], "sbp": [1, 2, 3, 4]}))
    assert result.exit_code != 0
    one_line_error(result.stderr)
    assert t1.state() == before  # the curator's edit included
    dataset = repo.open(t1.root).dataset("t1")
    assert [r.version for r in dataset.records()] == ["v1"] and git(t1.root, "tag", "--list") == "t1/v1"
    dataset.version("v1").verify()


def test_a_tag_of_the_next_version_that_exists_already_is_kept(t1, tmp_path):
    """A tag fetched from another copy of the repository is not this command's to delete."""
    git(t1.root, "tag", "-a", "t1/v2", "-m", "v2 made elsewhere")
    before = t1.state()
    result = t1.ipd("ingest", "t1", _csv(tmp_path / "d2.csv", {"id": [1, 2, 3, 4], "sbp": [1, 2, 3, 4]}))
    assert result.exit_code == 2
    assert one_line_error(result.stderr) == (
        f"error: tag t1/v2 already exists, but its version is not in {t1.root}: "
        "fetch that version, or delete the tag (git tag -d t1/v2)")
    assert t1.state() == before
    assert git(t1.root, "tag", "--list") == "t1/v1\nt1/v2"


# -- the lock --------------------------------------------------------------------------------------------

def test_an_ingest_while_the_lock_is_held_is_busy(t1, tmp_path):
    delivery = _csv(tmp_path / "d2.csv", {"id": [1, 2, 3, 4], "sbp": [1, 2, 3, 4]})
    before = t1.state()
    with FileLock(t1.root / ".git/ipd/lock"):
        process = start_ipd(t1.root, "ingest", "t1", delivery)
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 2, stdout + stderr
        assert one_line_error(stderr) == (
            f"error: {t1.root} is busy: another ipd command is writing to it (waited 1 s)")
        assert t1.state() == before
    process = start_ipd(t1.root, "ingest", "t1", delivery)  # once released, it goes through
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stdout + stderr
    assert assert_sound(t1.root, "t1") == ["v1", "v2"]


@pytest.mark.parametrize("timeout", ["60", "1"])
def test_two_ingests_of_a_trial_at_once_become_v1_and_v2(tmp_repo, tmp_path, timeout):
    """Waiting long enough, both go through, one after the other; waiting 1 s, one may be busy instead."""
    rng = np.random.default_rng(1)
    deliveries = [_csv(tmp_path / f"d{n}.csv", {"id": np.arange(20_000), "sbp": rng.integers(90, 180, 20_000)})
                  for n in (1, 2)]
    processes = [start_ipd(tmp_repo.root, "ingest", "t1", d, "--key", "id", "--json", IPD_LOCK_TIMEOUT=timeout)
                 for d in deliveries]
    results = [(d, p, *p.communicate(timeout=120)) for d, p in zip(deliveries, processes)]
    made = sorted((json.loads(stdout)["version"], json.loads(stdout)["fingerprint"], d.name)
                  for d, p, stdout, _ in results if p.returncode == 0)
    for _, process, stdout, stderr in results:
        if process.returncode != 0:
            assert timeout == "1" and process.returncode == 2, stdout + stderr
            assert one_line_error(stderr) == (
                f"error: {tmp_repo.root} is busy: another ipd command is writing to it (waited 1 s)")
    assert [v for v, _, _ in made] == ["v1", "v2"][:len(made)] and (len(made) == 2 or timeout == "1")
    assert assert_sound(tmp_repo.root, "t1") == [v for v, _, _ in made]
    dataset = repo.open(tmp_repo.root).dataset("t1")
    for version, fingerprint, name in made:
        record = dataset.version(version).record
        assert record.fingerprint == fingerprint and record.delivery["original_name"] == name
        assert record.kind == ("delivery" if version == "v1" else "redelivery")
