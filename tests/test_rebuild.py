"""``ipd verify --rebuild``: every version made again from its delivery and the log matches its fingerprint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from conftest import git, ipd
from support.verify import flip_a_byte, record


def rebuild(root: Path, *args: str) -> tuple[int, list[dict]]:
    result = ipd("verify", "--rebuild", "--repo", root, "--json", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, json.loads(result.stdout)["problems"]


def source_object(root: Path, relpath: str) -> Path:
    pointer = yaml.safe_load((root / "datasets/t/source.dvc").read_text())["outs"][0]["md5"]
    cache = root / ".dvc/cache/files/md5"
    listing = {e["relpath"]: e["md5"] for e in json.loads((cache / pointer[:2] / pointer[2:]).read_text())}
    return cache / listing[relpath][:2] / listing[relpath][2:]


def test_the_test_repository_rebuilds(copy):
    assert rebuild(copy) == (0, [])


def test_a_changed_delivery_is_named(copy):
    v2 = record(copy, "v2")
    path = source_object(copy, "v2/t2.parquet")
    flip_a_byte(path, 10)
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    code, problems = rebuild(copy, "t")
    assert code == 1
    assert problems == [
        {"object": "t@v2", "problem": f"cannot be rebuilt: datasets/t/source/v2/t2.parquet has SHA-256 {found}, but "
                                      f"the version record says {v2['delivery']['sha256']}"},
        {"object": "t@v3", "problem": "cannot be rebuilt: its parent v2 could not be"},
        {"object": "release t@v3 (noncommercial)", "problem": "cannot be rebuilt: t@v3 could not be"}]


def test_a_changed_log_entry_is_named(copy):
    log = copy / "datasets/t/corrections.jsonl"
    log.write_text(log.read_text().replace('"new": 999', '"new": 998'))
    git(copy, "commit", "-qam", "edit the log")
    code, problems = rebuild(copy)
    assert code == 1
    [v3] = [p for p in problems if p["object"] == "t@v3"]
    fingerprint = record(copy, "v3")["fingerprint"]
    assert v3["problem"].startswith("rebuilt from v2 and entries c1, c2 of datasets/t/corrections.jsonl, its rows "
                                    "have fingerprint sha256:")
    assert v3["problem"].endswith(f", but the version record says {fingerprint}")
    assert fingerprint not in v3["problem"].split(", but")[0]


def test_a_release_that_its_version_and_rules_do_not_give_is_named(copy):
    path = copy / "datasets/t/releases/v3-noncommercial.json"
    release = json.loads(path.read_text())
    recorded = release["fingerprint"]
    release["fingerprint"] = "sha256:" + "0" * 64
    path.write_text(json.dumps(release, indent=2) + "\n")
    code, problems = rebuild(copy)
    assert code == 1
    assert {"object": "release t@v3 (noncommercial)",
            "problem": f"rebuilt from t@v3 and its approved rules, the released rows have fingerprint {recorded}, "
                       f"but the release record says sha256:{'0' * 64}"} in problems


@pytest.mark.parametrize("args", [(), ("--rebuild",)])
def test_the_example_repository_verifies_from_a_fresh_clone(fresh_clone, args):
    result = ipd("verify", *args, "--repo", fresh_clone, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    trials = ["actg175", "cgd", "gbsg2", "pbc", "pbc-treatment", "udca"]
    assert json.loads(result.stdout) == {"success": True, "trials": trials, "problems": [], "not_checked": [],
                                         "unreferenced": []}
