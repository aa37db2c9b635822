"""Fixtures: real repositories (git + DVC with a local directory remote) in temporary directories, and the
fixtures several test modules use. The plain helpers test modules share are in ``tests/support/``."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import repo

pytest.register_assert_rewrite("support")  # the helpers' failed asserts explained like the tests' own

from support.cli import git, ipd
from support.releases import RULES, approve, built, deliver, synthetic, write_rules

PROJECT = Path(__file__).parents[1]
DATA = Path(__file__).parent / "data"
LIFELINES = Path(__import__("lifelines").__file__).parent / "datasets"
ACTG175 = LIFELINES / "ACTG175.csv"
GBSG2 = LIFELINES / "lymph_node.csv"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Keep default remotes and git identity away from the real home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("IPD_LOCK_TIMEOUT", "1")
    (home / ".gitconfig").write_text("[user]\n\tname = Test Curator\n\temail = curator@example.org\n")


@contextmanager
def own_home(home: Path) -> Iterator[None]:
    """What ``isolated_home`` gives each test, for a module-scoped fixture that builds before any test runs."""
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Test Curator\n\temail = curator@example.org\n")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOME", str(home))
        env.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
        env.setenv("GIT_CONFIG_NOSYSTEM", "1")
        yield


@dataclass
class TmpRepo:
    root: Path
    remote: Path

    def ipd(self, *args: str | Path):
        return ipd(*args, "--repo", self.root) if args[0] in REPO_COMMANDS else ipd(*args)

    def ingest(self, trial: str, file: Path, *options: str, expect: int = 0):
        result = self.ipd("ingest", trial, file, *options)
        assert result.exit_code == expect, result.output + result.stderr
        return result

    def state(self) -> dict:
        """Everything a failed command must leave as it was: commits, tags, index, files."""
        files = {}
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            if path.is_file() and not rel.startswith((".git/", ".dvc/cache/", ".dvc/tmp/")):
                files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        return {
            "head": git(self.root, "rev-parse", "HEAD"),
            "tags": git(self.root, "tag", "--list"),
            "status": git(self.root, "status", "--porcelain", "--ignored"),
            "files": files,
        }


REPO_COMMANDS = {"ingest", "list", "log", "show"}


@pytest.fixture
def tmp_repo(tmp_path) -> TmpRepo:
    root, remote = tmp_path / "repo", tmp_path / "remote"
    result = ipd("init", root, "--remote", remote)
    assert result.exit_code == 0, result.output + result.stderr
    return TmpRepo(root, remote)


# -- separate processes, for kills and concurrency ------------------------------------------------

JOURNAL = ".git/ipd/journal.json"


def start_ipd(root: Path, *args: str | Path, **env: str) -> subprocess.Popen:
    """``ipd ARGS --repo ROOT`` as a separate process (in its own process group, so a kill takes its git
    children too), with the test's HOME, git identity and lock timeout."""
    return subprocess.Popen([sys.executable, "-m", "repo", *map(str, args), "--repo", str(root)],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert "Traceback" not in stderr
    return lines[0]


def assert_sound(root: Path, trial: str) -> list[str]:
    """Every version of ``trial`` has its tag and verifies, and the work tree is clean; returns the versions."""
    dataset = repo.open(root).dataset(trial)
    versions = [r.version for r in dataset.records()]
    assert versions == [f"v{n}" for n in range(1, len(versions) + 1)]
    assert sorted(git(root, "tag", "--list", f"{trial}/*").split()) == sorted(f"{trial}/{v}" for v in versions)
    for version in versions:
        dataset.version(version).verify()
    assert git(root, "status", "--porcelain") == ""
    assert not (root / ".git/ipd/journal.json").exists()
    return versions


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 60) -> bool:
    """Wait until ``path`` exists (True) or the process has ended (False)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.005)
    return path.exists()


# -- a trial with release rules (test_release_build, test_release_pull, test_release_metadata) ----------


@pytest.fixture
def trial(tmp_repo):
    deliver(tmp_repo, synthetic())
    write_rules(tmp_repo.root, RULES)
    return tmp_repo


# -- PROV (test_provenance, test_lineage) ---------------------------------------------------------------


@pytest.fixture
def history(tmp_repo):
    """v1 delivered, v2 corrected (two entries), released for the non-commercial tier."""
    frame = synthetic()
    deliver(tmp_repo, frame)
    write_rules(tmp_repo.root, RULES)
    for args in (["--key", "100001", "--column", "cd4", "--value", "321", "--reason", "CRF page 2"],
                 ["--key", "100002", "--column", "cd4", "--value", "654", "--reason", "CRF page 5"]):
        result = ipd("correct", "t", *args, "--repo", tmp_repo.root)
        assert result.exit_code == 0, result.output + result.stderr
    result = ipd("commit", "t", "-m", "CD4 counts from the CRFs", "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.output + result.stderr
    approve(tmp_repo, "t@v2")
    built(tmp_repo, "t@v2", "noncommercial")
    return tmp_repo


# -- ipd verify (test_verify, test_rebuild): a repository with every kind of object -------------------


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    """Built once (it takes a while); each test tampers with its own copy."""
    base = tmp_path_factory.mktemp("verify") / "base"
    with own_home(base.parent / "home"):
        root = base / "repo"
        assert ipd("init", root, "--remote", base / "remote").exit_code == 0

        class Repo:  # what the helpers of support.releases expect of tmp_repo
            def __init__(self, root):
                self.root = root

        frame = synthetic()
        first = base / "t.parquet"
        frame.to_parquet(first)
        run("ingest", "t", first, "--key", "pid", "--arm", "arm", "--randomised", "randdate", "--repo", root)
        frame.loc[frame.pid == 100003, "cd4"] = 777
        second = base / "t2.parquet"
        frame.to_parquet(second)
        run("ingest", "t", second, "--repo", root)
        run("correct", "t", "--key", "100001", "--column", "cd4", "--value", "999", "--reason", "CRF", "--repo", root)
        supplied = base / "bmi.csv"
        pd.DataFrame({"pid": [100001, 100002], "bmi": [22.5, 30.1]}).to_csv(supplied, index=False)
        run("correct", "t", "--add-column", supplied, "--reason", "supplied", "--repo", root)
        run("commit", "t", "-m", "query round 1", "--repo", root)
        write_rules(root, RULES)
        approve(Repo(root), "t@v3")
        run("release", "t@v3", "--tier", "noncommercial", "--repo", root)
    return base


def run(*args):
    result = ipd(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture
def copy(built_once, tmp_path) -> Path:
    """A copy of the built repository and its remotes, the remotes' URLs pointed at the copies."""
    base = tmp_path / "base"
    shutil.copytree(built_once, base, symlinks=True)
    config = base / "repo" / ".dvc" / "config"
    config.write_text(config.read_text().replace(str(built_once), str(base)))
    return base / "repo"


# -- the project's own example repository (test_example_repository, test_rebuild) ----------------------


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory):
    """A clone as a newcomer gets it: no DVC cache, and (to be safe) no tags either."""
    clone = tmp_path_factory.mktemp("project") / "clone"
    git(PROJECT, "clone", "-q", str(PROJECT), str(clone))
    for tag in git(clone, "tag", "--list").split():
        git(clone, "tag", "-d", tag)
    return clone
