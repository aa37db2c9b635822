"""Where a catalogue lives: behind a git server (a git:// URL, served by ``git daemon``), or carried inside
the curation repository's own tree together with its release remote (as the project's example repository
carries its catalogue), so that any clone finds the pair; and an scp-like URL is never taken for a path."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import git, ipd, own_home
from support.releases import RULES, Repo, approve, one_line, run, synthetic, write_rules


def released(root: Path, base: Path) -> None:
    """The synthetic trial ingested, approved and released in the non-commercial tier (so published)."""
    synthetic().to_parquet(base / "delivery.parquet")
    run("ingest", "t", base / "delivery.parquet", "--key", "pid", "--arm", "arm", "--randomised", "randdate",
        "--repo", root)
    write_rules(root, RULES)
    approve(Repo(root))
    run("release", "t@v1", "--tier", "noncommercial", "--repo", root)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def git_server(tmp_path):
    """A git server on localhost serving (and accepting pushes to) the bare repositories under a folder."""
    served = tmp_path / "served"
    served.mkdir()
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
                               f"--base-path={served}", "--listen=127.0.0.1", f"--port={port}", str(served)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield served, f"git://127.0.0.1:{port}"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def test_a_catalogue_behind_a_git_server_is_published_to_pulled_from_and_verified(git_server, tmp_path):
    served, server = git_server
    git(served, "init", "-q", "--bare", "--initial-branch=main", "catalogue.git")
    url = f"{server}/catalogue.git"
    with own_home(tmp_path / "home"):
        root = tmp_path / "curation"
        run("init", root, "--remote", tmp_path / "restricted", "--catalogue", url)
        released(root, tmp_path)
        assert git(served / "catalogue.git", "ls-tree", "--name-only", "main", "datasets/t/publications/") == \
            "datasets/t/publications/v1-noncommercial.json"
        out = tmp_path / "pulled"
        result = run("pull", "t@v1", "--tier", "noncommercial", "--from", url, "--out", out)
        assert "every file verified" in result.stdout
        assert "pid" not in pq.read_table(out / "t.parquet").column_names
        status = json.loads(run("status", out, "--json").stdout)
        assert (status["version"], status["latest"], status["superseded"]) == ("v1", "v1", False)
        verified = json.loads(run("verify", "--repo", root, "--json").stdout)
        assert verified["problems"] == [] and verified["not_checked"] == []


def test_a_catalogue_the_curation_repository_carries_is_found_by_any_clone(tmp_path):
    """Catalogue and release remote inside the work tree are named relative to it, so a plain clone of the
    curation repository elsewhere publishes to, verifies against and pulls from its own copy of the pair."""
    with own_home(tmp_path / "home"):
        root = tmp_path / "curation"
        run("init", root, "--remote", root / ".store")
        run("remote", "release", root / ".store-release", "--repo", root)
        run("remote", "catalogue", root / ".catalogue.git", "--repo", root)
        assert 'catalogue = ".catalogue.git"' in (root / "ipd.toml").read_text()
        marker = git(root / ".catalogue.git", "show", "main:catalogue.toml")
        assert 'release = "../../.store-release"' in marker
        released(root, tmp_path)
        git(root, "add", ".catalogue.git", ".store", ".store-release")
        git(root, "commit", "-qm", "the example carries its catalogue and remotes")

        clone = tmp_path / "elsewhere" / "clone"
        clone.parent.mkdir()
        git(clone.parent, "clone", "-q", str(root), str(clone))
        shutil.rmtree(root)  # nothing may still point at the original
        listed = {r["kind"]: r["url"] for r in json.loads(run("remote", "--repo", clone, "--json").stdout)}
        assert listed["catalogue"] == str(clone / ".catalogue.git")
        out = tmp_path / "pulled"
        result = run("pull", "t@v1", "--tier", "noncommercial", "--from", clone / ".catalogue.git", "--out", out)
        assert "every file verified" in result.stdout
        verified = json.loads(run("verify", "--repo", clone, "--json").stdout)
        assert verified["problems"] == [] and verified["not_checked"] == []


def test_an_scp_like_url_is_a_git_url_not_a_local_path(tmp_path):
    with own_home(tmp_path / "home"):
        root = tmp_path / "curation"
        run("init", root, "--remote", tmp_path / "restricted")
        settings = (root / "ipd.toml").read_text()
        url = "git@unreachable.invalid:trials/catalogue.git"
        result = ipd("remote", "catalogue", url, "--repo", root)
        assert result.exit_code != 0
        assert one_line(result) == f"{url} is not a git repository: a catalogue is one (a local path, or any git URL)"
        assert (root / "ipd.toml").read_text() == settings
        assert not list(root.parent.glob("git@*")) and not list(Path.cwd().glob("git@*"))
