"""Objects no version or release references: a killed release leaves them, ``ipd verify`` lists them as
warnings, ``ipd verify --prune`` removes exactly those; objects of older versions and other refs stay."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from filelock import FileLock

from conftest import git, ipd, own_home

KINDS = ("restricted", "release")


# -- a repository with two versions and a release, built once; each test works on its own copy ----------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """t@v1 (a delivery) and t@v2 (one corrected cell), whose release plan is approved (nothing released yet)."""
    base = tmp_path_factory.mktemp("unreferenced") / "base"
    with own_home(base.parent / "home"):
        root = base / "repo"
        run("init", root, "--remote", base / "remote")
        delivery = base / "t.parquet"
        trial(60, seed=1).to_parquet(delivery)
        run("ingest", "t", delivery, "--key", "pid", "--arm", "arm", "--randomised", "randdate", "--repo", root)
        run("correct", "t", "--key", "3", "--column", "cd4", "--value", "999", "--reason", "CRF", "--repo", root)
        run("commit", "t", "-m", "query round 1", "--repo", root)
        run("release", "plan", "t@v2", "--save", "--repo", root)
        for refused in ("sharing", "commercial"):
            run("release", "consent", "t", "--refused", refused, "--none", "--reason", "synthetic", "--repo", root)
        run("release", "approve", "t@v2", "--by", "Dr Approver", "--repo", root)
    return base


def trial(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"pid": np.arange(1, n + 1), "arm": rng.choice(["A", "B"], n), "sex": rng.choice(["F", "M"], n),
                         "randdate": np.datetime64("2015-01-01") + rng.integers(0, 900, n).astype("timedelta64[D]"),
                         "cd4": rng.integers(50, 1200, n)})


def run(*args):
    result = ipd(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture
def copy(built, tmp_path) -> Path:
    """A copy of the built repository and its remotes, the remotes' URLs pointed at the copies and committed
    (so a clone of the copy reads the copies too)."""
    base = tmp_path / "base"
    shutil.copytree(built, base, symlinks=True)
    root = base / "repo"
    config = root / ".dvc" / "config"
    config.write_text(config.read_text().replace(str(built), str(base)))
    git(root, "commit", "-qm", "remotes of the copy", "--", ".dvc/config")
    return root


def remotes(root: Path) -> dict[str, Path]:
    return {"restricted": root.parent / "remote", "release": root.parent / "remote-release"}


def stored(root: Path) -> list[dict]:
    """Every file of both remotes, as ``ipd verify --json`` names an object."""
    return [{"remote": kind, "object": path.relative_to(directory / "files").as_posix(), "size": path.stat().st_size}
            for kind, directory in remotes(root).items() for path in sorted((directory / "files").rglob("*"))
            if path.is_file()]


def verify(root: Path, *args: str | Path, code: int = 0) -> dict:
    result = ipd("verify", "--repo", root, "--json", *args)
    assert result.exit_code == code, result.stdout + result.stderr
    return json.loads(result.stdout)


def sound(**more) -> dict:
    return {"success": True, "trials": ["t"], "problems": [], "not_checked": [], "unreferenced": [], **more}


def refused(root: Path, *args: str) -> str:
    result = ipd("verify", "--repo", root, *args)
    assert result.exit_code == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0].removeprefix("error: ")


def kill_release(root: Path, ref: str, tier: str) -> None:
    """``ipd release`` in a process of its own, killed while git commits the release: after it pushed."""
    hook, trigger = root / ".git/hooks/pre-commit", root / ".git/ipd/committing"
    hook.write_text(f"#!/bin/sh\ntouch '{trigger}'\nsleep 30\n")
    hook.chmod(0o755)
    process = subprocess.Popen([sys.executable, "-m", "repo", "release", ref, "--tier", tier, "--repo", str(root)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not trigger.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    hook.unlink()
    trigger.unlink()
    assert (root / ".git/ipd/journal.json").exists()  # killed part-way: the next command rolls it back


def pulled(source: Path, ref: str, out: Path, *tier: str) -> dict:
    result = ipd("pull", ref, *(("--tier", *tier) if tier else ()), "--from", source, "--out", out, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


# -- tests -------------------------------------------------------------------------------------------------


def test_a_killed_release_leaves_objects_that_verify_lists_and_prune_removes(copy, tmp_path):
    before = stored(copy)
    kill_release(copy, "t@v2", "noncommercial")
    left = [o for o in stored(copy) if o not in before]
    assert {o["remote"] for o in left} == {"restricted", "release"}  # the linkage, and the package
    assert verify(copy) == sound(unreferenced=left)
    lines = ipd("verify", "--repo", copy).stdout.strip().splitlines()
    assert lines == [*(f"unreferenced {o['object']} in the {o['remote']} remote ({o['size']} bytes): no version or "
                       "release names it" for o in left),
                     f"{len(left)} unreferenced object(s), {sum(o['size'] for o in left)} bytes: "
                     "`ipd verify --prune` removes them",
                     "t: verified"]
    assert git(copy, "status", "--porcelain") == ""
    assert verify(copy, "--prune") == sound(pruned=left, freed=sum(o["size"] for o in left))
    assert stored(copy) == before
    assert verify(copy) == sound()

    run("release", "t@v2", "--tier", "noncommercial", "--repo", copy)  # built after all (with new release IDs)
    assert verify(copy) == sound()  # a release that finished leaves nothing unreferenced
    released = stored(copy)
    kill_release(copy, "t@v2", "commercial")
    left = [o for o in stored(copy) if o not in released]
    assert {o["remote"] for o in left} == {"restricted", "release"}  # the linkage gained the tier's own IDs
    assert verify(copy) == sound(unreferenced=left)  # the recorded release's objects are not among them
    lines = ipd("verify", "--prune", "--repo", copy).stdout.strip().splitlines()
    assert lines == [*(f"removed {o['object']} from the {o['remote']} remote ({o['size']} bytes)" for o in left),
                     f"pruned {len(left)} unreferenced object(s), {sum(o['size'] for o in left)} bytes freed",
                     "t: verified"]
    assert stored(copy) == released
    assert verify(copy, "--prune") == sound(pruned=[], freed=0)

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(copy), str(clone))
    for version in ("v1", "v2"):
        assert pulled(clone, f"t@{version}", tmp_path / version)["version"] == version
    assert pulled(clone, "t@v2", tmp_path / "noncommercial", "noncommercial")["tier"] == "noncommercial"
    run("release", "t@v2", "--tier", "commercial", "--repo", copy)
    git(clone, "pull", "-q")
    assert pulled(clone, "t@v2", tmp_path / "commercial", "commercial")["tier"] == "commercial"
    assert verify(copy) == sound()


def test_objects_of_older_versions_and_of_other_refs_are_referenced(copy):
    v1, v2 = ({p["md5"] for p in json.loads((copy / f"datasets/t/versions/{v}.json").read_text())["parts"]}
              for v in ("v1", "v2"))
    restricted = {o["object"].replace("/", "")[3:] for o in stored(copy) if o["remote"] == "restricted"}
    assert v1 - v2 and v1 <= restricted  # v1's own part is still stored, and referenced by v1's commit
    assert verify(copy) == sound()
    before = stored(copy)

    git(copy, "checkout", "-q", "-b", "side")
    delivery = copy.parent / "s.csv"
    trial(30, seed=2).to_csv(delivery, index=False)
    run("ingest", "s", delivery, "--key", "pid", "--repo", copy)
    side = [o for o in stored(copy) if o not in before]
    assert side and {o["remote"] for o in side} == {"restricted"}
    git(copy, "checkout", "-q", "main")
    git(copy, "clean", "-qfd", "datasets/s")
    assert verify(copy) == sound()  # named by the branch side
    git(copy, "branch", "-qD", "side")
    assert verify(copy) == sound()  # by the tag s/v1
    git(copy, "tag", "-d", "s/v1")
    assert verify(copy) == sound()  # by the reflog: a deleted branch can still be restored
    git(copy, "reflog", "expire", "--expire=all", "--expire-unreachable=all", "--all")
    assert verify(copy) == sound(unreferenced=side)
    assert verify(copy, "--prune") == sound(pruned=side, freed=sum(o["size"] for o in side))
    assert stored(copy) == before


def test_a_push_killed_part_way_leaves_partial_files_that_are_pruned_too(copy):
    partial = remotes(copy)["release"] / "files" / "md5" / "ab" / ".QmFzZTY0dG9rZW4.tmp"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half an object")
    expected = [{"remote": "release", "object": "md5/ab/.QmFzZTY0dG9rZW4.tmp", "size": 14}]
    assert verify(copy, "t") == sound(unreferenced=expected)
    assert verify(copy, "--prune") == sound(pruned=expected, freed=14)
    assert not partial.parent.exists()


def test_prune_refuses_what_it_cannot_do_safely(copy):
    partial = remotes(copy)["restricted"] / "files" / "md5" / "cd" / ".dG9rZW4.tmp"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"x")
    assert refused(copy, "--force") == "--force goes with --prune"

    git(copy, "remote", "add", "origin", str(copy.parent / "elsewhere.git"))
    assert refused(copy, "--prune") == (
        f"{copy} has git remotes (origin): another copy may have pushed objects for commits this one lacks, and "
        "--prune would remove them; fetch every copy's branches and tags here first, then prune with --force")
    assert partial.exists()

    with FileLock(copy / ".git/ipd/lock"):  # another command is writing (in a process of its own: the lock
        # timeout is read when ipd starts)
        busy = subprocess.run([sys.executable, "-m", "repo", "verify", "--prune", "--force", "--repo", str(copy)],
                              capture_output=True, text=True)
    assert (busy.returncode, busy.stderr) == (
        2, f"error: {copy} is busy: another ipd command is writing to it (waited 1 s)\n")
    assert partial.exists()

    first = yaml.safe_load(git(copy, "show", "t/v1:datasets/t/data.dvc"))["outs"][0]["md5"]  # v1's listing
    for store in (copy / ".dvc/cache", remotes(copy)["restricted"]):
        (store / "files" / "md5" / first[:2] / first[2:]).unlink()
    unknown = f"the listing {first} that datasets/t/data.dvc names is in neither the DVC cache nor a local remote"
    assert verify(copy) == sound(not_checked=[{"object": "unreferenced objects", "reason": f"not listed: {unknown}"}])
    assert refused(copy, "--prune", "--force") == f"cannot prune: what history references is not known ({unknown})"
    assert partial.exists()


def test_prune_commits_what_it_removes_from_remotes_in_the_work_tree(tmp_path):
    root = tmp_path / "intree"
    run("init", root, "--remote", root / ".store", "--release-remote", root / ".store-release")
    delivery = tmp_path / "t.csv"
    trial(20, seed=3).to_csv(delivery, index=False)
    run("ingest", "t", delivery, "--key", "pid", "--repo", root)
    stray = root / ".store" / "files" / "md5" / "ff" / ("0" * 30)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"pushed by hand, named by nothing")
    git(root, "add", ".store")
    git(root, "commit", "-qm", "an object by hand")
    partial = root / ".store-release" / "files" / "md5" / "ee" / ".dG9rZW4.tmp"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"x")
    expected = [{"remote": "restricted", "object": f"md5/ff/{'0' * 30}", "size": 32},
                {"remote": "release", "object": "md5/ee/.dG9rZW4.tmp", "size": 1}]
    assert verify(root) == sound(unreferenced=expected)
    assert verify(root, "--prune") == sound(pruned=expected, freed=33)
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "log", "-1", "--format=%s") == \
        "Pruned 2 object(s) no version or release references from the remotes in the work tree"
    assert not stray.exists() and not partial.exists()
    assert verify(root) == sound()
