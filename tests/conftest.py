"""Fixtures: real repositories (git + DVC with a local directory remote) in temporary directories."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import repo
from repo.cli import app

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


def ipd(*args: str | Path, cwd: Path | None = None):
    """Run the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    old = Path.cwd()
    if cwd:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


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
