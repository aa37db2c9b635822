"""Versions tagged with the curator's signing key (git's SSH signing), and ipd verify checking the signatures."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import git, ipd

CSV = "pid,arm,age\n1,A,40\n2,B,51\n"

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="git signs with SSH keys through ssh-keygen")


@pytest.fixture
def signed(tmp_repo, tmp_path) -> Path:
    """A repository whose curator signs with an SSH key, trusted in the allowed signers file; t@v1 ingested."""
    key = tmp_path / "curator_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "curator", "-f", key], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"curator@example.org {(tmp_path / 'curator_key.pub').read_text()}")
    root = tmp_repo.root
    for name, value in {"gpg.format": "ssh", "user.signingkey": str(key),
                        "gpg.ssh.allowedSignersFile": str(allowed)}.items():
        git(root, "config", name, value)
    delivery = tmp_path / "t.csv"
    delivery.write_text(CSV)
    tmp_repo.ingest("t", delivery, "--key", "pid", "--arm", "arm")
    return root


def verify(root: Path) -> tuple[int, dict]:
    result = ipd("verify", "--repo", root, "--json")
    return result.exit_code, json.loads(result.stdout)


def test_a_signing_curator_gets_signed_tags_that_verify(signed):
    assert "-----BEGIN SSH SIGNATURE-----" in git(signed, "cat-file", "tag", "t/v1")
    code, report = verify(signed)
    assert (code, report["problems"], report["not_checked"]) == (0, [], [])


def test_a_signed_tag_rewritten_by_someone_else_is_named(signed):
    forged = git(signed, "cat-file", "tag", "t/v1").replace("t v1 (", "t v1 as approved (")
    new = subprocess.run(["git", "mktag"], input=forged + "\n", cwd=signed, capture_output=True, text=True,
                         check=True).stdout.strip()
    git(signed, "update-ref", "refs/tags/t/v1", new)
    code, report = verify(signed)
    assert code == 1
    [problem] = report["problems"]
    assert problem["object"] == "tag t/v1"
    assert problem["problem"].startswith("its signature does not verify (")


def test_a_signature_git_cannot_check_here_is_listed_not_failed(signed):
    git(signed, "config", "--unset", "gpg.ssh.allowedSignersFile")
    code, report = verify(signed)
    assert (code, report["problems"]) == (0, [])
    [note] = report["not_checked"]
    assert note["object"] == "tag t/v1"
    assert note["reason"].startswith("signed, but git cannot check the signature here (")
