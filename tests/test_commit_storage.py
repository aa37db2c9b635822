"""What a commit stores is what DVC itself would have stored, by either path.

A commit in the default layout stores the parts through DVC's object library
(``repo/backends/storage/known.py``); any other layout goes through ``dvc add`` and ``dvc
push``. Either way DVC must find the work tree, the cache and the remote in
step, and the new version must read back as recorded.
"""

from __future__ import annotations

import pytest

import repo
from conftest import git
from support.corrections import _csv, commit, correct

ROWS = 40_000  # four parts, so a correction leaves most of them untouched


@pytest.fixture
def trial(tmp_repo, tmp_path):
    tmp_repo.ingest("t", _csv(tmp_path / "big.csv", {"pid": range(1, ROWS + 1), "x": [i % 7 for i in range(ROWS)]}),
                    "--key", "pid")
    return tmp_repo


def dvc_status(root) -> tuple[dict, dict]:
    """``dvc status`` and ``dvc status --cloud`` of the restricted remote, from DVC itself."""
    from dvc.repo import Repo

    with Repo(str(root)) as dvc:
        return dvc.status(), dvc.status(cloud=True, remote="restricted")


def cut_v2(trial) -> repo.Version:
    assert correct(trial, "--key", "12345", "--column", "x", "--value", "6", "--reason", "CRF").exit_code == 0
    result = commit(trial, "-m", "one cell")
    assert result.exit_code == 0, result.stderr
    return repo.open(trial.root).dataset("t").version("v2")


def test_dvc_finds_the_work_tree_cache_and_remote_in_step_after_a_commit(trial):
    v2 = cut_v2(trial)
    assert v2.record.nparts > 1 and len(v2.record.parts) == v2.record.nparts
    assert dvc_status(trial.root) == ({}, {})
    v2.verify()
    pointer = (trial.root / "datasets/t/data.dvc").read_text()
    assert f"size: {sum(p.size for p in v2.record.parts)}\n" in pointer
    assert f"nfiles: {len(v2.record.parts)}\n" in pointer


def test_a_fresh_clone_reads_the_new_version_from_the_remote_alone(trial, tmp_path):
    v2 = cut_v2(trial)
    clone = tmp_path / "clone"
    git(trial.root, "clone", "-q", str(trial.root), str(clone))
    copy = repo.open(clone).dataset("t").version("v2")
    copy.verify()  # every part fetched from the remote, checked by MD5 and fingerprint
    assert copy.to_arrow().num_rows == v2.record.rows == ROWS


def test_a_configured_cache_goes_through_dvc_itself(trial, monkeypatch):
    """Cache settings ipd does not read (here the link type) leave storing to DVC itself."""
    from repo.backends.storage import known as knownparts

    (trial.root / ".dvc" / "config.local").write_text("[cache]\n    type = copy\n")
    assert not knownparts.applies(trial.root)
    monkeypatch.setattr(knownparts, "store", lambda *args, **kwargs: pytest.fail("DVC stores the parts"))
    v2 = cut_v2(trial)
    assert dvc_status(trial.root) == ({}, {})
    v2.verify()
