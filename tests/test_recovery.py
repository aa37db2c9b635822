"""Recovering from a killed command never takes away a curator's own commits."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pandas as pd
import pytest

from conftest import JOURNAL, assert_sound, git, one_line_error, start_ipd, wait_for

MARK = ".git/ipd/in-hook"


@pytest.fixture
def staged(tmp_repo, tmp_path):
    """Trial ``t`` at v1 with one correction staged."""
    delivery = tmp_path / "d.csv"
    pd.DataFrame({"id": [1, 2, 3], "sbp": [120, 135, 128]}).to_csv(delivery, index=False)
    tmp_repo.ingest("t", delivery, "--key", "id")
    result = tmp_repo.ipd("correct", "t", "--key", "2", "--column", "sbp", "--value", "130",
                          "--reason", "CRF says 130", "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.stderr
    return tmp_repo


def _kill_commit_in(root: Path, hook: str) -> None:
    """Start ``ipd commit`` and SIGKILL it while git runs the ``hook`` (pre-commit: before HEAD moves;
    post-commit: after)."""
    path = root / ".git/hooks" / hook
    path.write_text(f"#!/bin/sh\ntouch '{root / MARK}'\nsleep 60\n")
    path.chmod(0o755)
    process = start_ipd(root, "commit", "t", "-m", "round 1")
    assert wait_for(root / MARK, process), process.communicate()
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    path.unlink()
    (root / MARK).unlink()
    assert (root / JOURNAL).exists()


def _curator_commits(root: Path, name: str = "notes.txt") -> str:
    (root / ".git/index.lock").unlink(missing_ok=True)  # as git tells them to, if the kill left it
    (root / name).write_text("minutes of the data monitoring meeting\n")
    git(root, "add", name)
    git(root, "commit", "-q", "-m", "Meeting notes", "--", name)
    return git(root, "rev-parse", "HEAD")


def _staged_ids(tmp_repo) -> list[str]:
    listed = tmp_repo.ipd("correct", "t", "--list", "--json", "--repo", tmp_repo.root)
    assert listed.exit_code == 0, listed.stderr
    return [entry["id"] for entry in json.loads(listed.stdout)]


def test_a_commit_killed_after_head_moved_keeps_a_later_commit_of_the_curator(staged):
    root = staged.root
    _kill_commit_in(root, "post-commit")
    assert git(root, "log", "-1", "--format=%s") == "t v2: round 1"
    mine = _curator_commits(root)

    refused = staged.ipd("correct", "t", "--list", "--repo", root)
    assert refused.exit_code == 2
    line = one_line_error(refused.stderr)
    assert "an interrupted ipd command made commit" in line and "'t v2: round 1'" in line
    assert "'Meeting notes'" in line and "nothing was undone. Run `ipd recover`" in line
    assert git(root, "rev-parse", "HEAD") == mine and (root / JOURNAL).exists()

    recovered = staged.ipd("recover", "--repo", root)
    assert recovered.exit_code == 0, recovered.stderr
    assert recovered.stdout.startswith("Undid the interrupted command in commit ")
    log = git(root, "log", "--format=%s", "-3").splitlines()
    assert log == ["Undo the interrupted ipd change: t v2: round 1", "Meeting notes", "t v2: round 1"]
    assert git(root, "rev-parse", "HEAD~1") == mine
    assert (root / "notes.txt").exists() and not (root / "datasets/t/versions/v2.json").exists()
    assert _staged_ids(staged) == ["s1"]  # the correction is staged again, to commit once more
    assert staged.ipd("verify", "--repo", root).exit_code == 0

    again = staged.ipd("commit", "t", "-m", "round 1", "--repo", root)
    assert again.exit_code == 0, again.stderr
    assert assert_sound(root, "t") == ["v1", "v2"]
    verified = staged.ipd("verify", "--json", "--repo", root)
    assert verified.exit_code == 0 and json.loads(verified.stdout)["problems"] == []


def test_recover_forget_keeps_everything_as_it_is(staged):
    root = staged.root
    _kill_commit_in(root, "post-commit")
    mine = _curator_commits(root)
    kept = staged.ipd("recover", "--forget", "--repo", root)
    assert kept.exit_code == 0, kept.stderr
    assert git(root, "rev-parse", "HEAD") == mine and not (root / JOURNAL).exists()
    assert staged.ipd("recover", "--repo", root).stdout.endswith("no interrupted command; nothing to recover\n")


def test_a_commit_killed_before_head_moved_is_undone_and_the_curator_commit_stays(staged):
    root = staged.root
    before = staged.state()
    _kill_commit_in(root, "pre-commit")
    mine = _curator_commits(root)
    listed = _staged_ids(staged)  # any command: it undoes the interrupted commit by itself
    assert listed == ["s1"]
    assert git(root, "rev-parse", "HEAD") == mine and not (root / JOURNAL).exists()
    after = staged.state()
    assert {k: v for k, v in after["files"].items() if k != "notes.txt"} == before["files"]
    assert git(root, "tag", "--list") == before["tags"]
    assert git(root, "status", "--porcelain") == ""


def test_a_curator_commit_to_what_the_command_was_changing_is_refused_not_lost(staged):
    root = staged.root
    _kill_commit_in(root, "post-commit")
    notes = "datasets/t/notes.md"
    mine = _curator_commits(root, notes)
    refused = staged.ipd("recover", "--repo", root)
    assert refused.exit_code == 2
    line = one_line_error(refused.stderr)
    assert f"changed {notes}, which an interrupted ipd command was changing too" in line
    assert "ipd recover --forget" in line
    assert git(root, "rev-parse", "HEAD") == mine and (root / notes).exists()
