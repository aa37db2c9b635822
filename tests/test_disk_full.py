"""A full disk is one line naming the file system that is full, and the repository stays as it was.

Each case runs in a user and mount namespace of its own (``unshare``), with a small tmpfs
standing in for the full disk, so nothing on the machine fills up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

ROWS = 100_000

DRIVER = r"""
import hashlib, json, subprocess, sys
from pathlib import Path

small, repo, remote, delivery, where = map(Path, sys.argv[1:6])
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)], check=True)

def ipd(*args):
    return subprocess.run([sys.executable, "-m", "repo", *map(str, args)], capture_output=True, text=True)

def state():
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, capture_output=True, text=True).stdout
    files = {str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(repo.rglob("*"))
             if p.is_file() and not str(p.relative_to(repo)).startswith((".git/", ".dvc/cache/", ".dvc/tmp/"))}
    status = [line for line in git("status", "--porcelain", "--ignored").splitlines()
              if line != "!! .dvc/cache/"]  # the cache holds objects by their hash: adding some changes nothing
    return [git("rev-parse", "HEAD"), git("tag"), status, files]

made = ipd("init", repo, "--remote", remote)
assert made.returncode == 0, made.stderr
before = state()
ingest = ipd("ingest", "t", delivery, "--key", "id", "-C", repo)
after = state()
print(json.dumps({"code": ingest.returncode, "stderr": ingest.stderr, "before": before, "after": after}))
"""


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _namespaces_work(), reason="needs unshare -rm (user and mount namespaces)")


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("full") / "big.csv"
    rng = np.random.default_rng(28)
    pacsv.write_csv(pa.table({"id": np.arange(1, ROWS + 1), "x": rng.normal(size=ROWS),
                              "y": rng.normal(size=ROWS)}), path)
    return path


@pytest.mark.parametrize("full", ["remote", "repository"])
def test_a_full_disk_is_one_line_and_changes_nothing(tmp_path, delivery, full):
    small = tmp_path / "small"
    small.mkdir()
    repo = small / "repo" if full == "repository" else tmp_path / "repo"
    remote = small / "remote" if full == "remote" else tmp_path / "remote"
    done = subprocess.run(["unshare", "-rm", sys.executable, "-c", DRIVER, small, repo, remote, delivery, full],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["code"] == 2
    action = f"pushing to the DVC remote {remote} failed: " if full == "remote" else ""
    assert outcome["stderr"] == f"error: {action}no space left on device: {small} is full\n"
    assert outcome["after"] == outcome["before"]
