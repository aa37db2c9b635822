"""Restricted files are readable by their owner only: deliveries, consent lists, the linkage and its key."""

from __future__ import annotations

import stat
from pathlib import Path

from conftest import ipd
from support.releases import RULES, approve, built, deliver, synthetic, write_rules

from repo.backends import storage


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(root: Path, target: str) -> dict[str, set[int]]:
    """Modes of the folder's files and folders in the work tree, and of its objects in the cache and the remote."""
    tree = root / target
    md5s = [storage.pointer_md5((root / f"{target}.dvc").read_text()),
            *storage.directory_listing(root, target).values()]
    remote = storage.remote_directory(root)
    return {
        "files": {mode(p) for p in tree.rglob("*") if p.is_file()},
        "folders": {mode(p) for p in [tree, *tree.rglob("*")] if p.is_dir()},
        "cache": {mode(storage.cache_path(root, m)) for m in md5s},
        "cache folders": {mode(storage.cache_path(root, m).parent) for m in md5s},
        "remote": {mode(storage.object_path(remote, m)) for m in md5s},
        "remote folders": {mode(storage.object_path(remote, m).parent) for m in md5s},
    }


PRIVATE = {"files": {0o600}, "folders": {0o700}, "cache": {0o400}, "cache folders": {0o700},
           "remote": {0o600}, "remote folders": {0o700}}


def test_the_linkage_consent_lists_and_deliveries_are_private(tmp_repo, tmp_path):
    deliver(tmp_repo, synthetic())
    write_rules(tmp_repo.root, RULES)
    refused = tmp_path / "refused.csv"
    refused.write_text("pid\n100001\n")
    result = ipd("release", "consent", "t", refused, "--refused", "commercial", "--id-column", "pid",
                 "--reason", "consent forms", "--replace", "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.stderr
    approve(tmp_repo)
    built(tmp_repo)
    assert modes(tmp_repo.root, "datasets/t/linkage") == PRIVATE
    assert {p.name for p in (tmp_repo.root / "datasets/t/linkage").iterdir()} == {"linkage.parquet", "shift.key",
                                                                                 "codes.parquet"}  # the site codes
    assert modes(tmp_repo.root, "datasets/t/source") == PRIVATE
    assert any("consent" in p.parts for p in (tmp_repo.root / "datasets/t/source").rglob("*.csv"))
