from __future__ import annotations

import tomllib

from conftest import git, ipd


def test_init_creates_git_dvc_layout_and_settings(tmp_path):
    result = ipd("init", tmp_path / "r", "--remote", tmp_path / "store")
    assert result.exit_code == 0
    root = tmp_path / "r"
    for folder in ("datasets", "expectations", "provenance", ".dvc", ".git"):
        assert (root / folder).is_dir()
    assert tomllib.loads((root / "ipd.toml").read_text())["remotes"]["restricted"] == "restricted"
    assert f"url = {tmp_path / 'store'}" in (root / ".dvc" / "config").read_text()
    assert (tmp_path / "store").is_dir()
    assert git(root, "log", "--format=%s") == "ipd init"
    assert git(root, "status", "--porcelain") == ""


def test_init_twice_is_harmless(tmp_path):
    assert ipd("init", tmp_path / "r").exit_code == 0
    head = git(tmp_path / "r", "rev-parse", "HEAD")
    second = ipd("init", tmp_path / "r")
    assert second.exit_code == 0
    assert "Already initialised" in second.output
    assert git(tmp_path / "r", "rev-parse", "HEAD") == head


def test_default_remote_is_outside_the_work_tree(tmp_path):
    result = ipd("init", tmp_path / "r")
    assert result.exit_code == 0
    config = (tmp_path / "r" / ".dvc" / "config").read_text()
    url = next(line.split("=", 1)[1].strip() for line in config.splitlines() if "url =" in line)
    assert not url.startswith(str(tmp_path / "r"))
    assert "/ipd/remotes/r-" in url


def test_init_adopts_an_existing_git_repository(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "notes.txt").write_text("kept\n")
    git(root, "add", "notes.txt")
    git(root, "commit", "-qm", "existing work")
    assert ipd("init", root).exit_code == 0
    assert git(root, "log", "--format=%s") == "ipd init\nexisting work"
    assert (root / "notes.txt").read_text() == "kept\n"


def test_remote_inside_the_work_tree_is_stored_relative(tmp_path):
    root = tmp_path / "r"
    assert ipd("init", root, "--remote", root / ".dvcstore").exit_code == 0
    assert "url = ../.dvcstore" in (root / ".dvc" / "config").read_text()
    assert "/.dvcstore" in (root / ".dvcignore").read_text()
