"""Releases: a synthetic trial with a column for every kind of rule, its release rules, and the steps of building
a release (approve, build, read the package), for test_release_build and the modules that build on it."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from support.cli import git, ipd

RULES = {
    "min_cell": 5, "race": "race", "sex": "sex", "participant_id": "pid",
    "identifiers": ["name"], "centres": {"site": "recode"}, "technicians": {"tech": "delete"},
    "sensitive": ["drugs"],
    "dates": {"mode": "relative", "reference": "randdate"},
    "age": {"column": "age", "top": 90},
    "quasi_identifiers": {"karnof": {"action": "collapse", "groups": {"<=90": [70, 80, 90], "100": [100]}},
                          "wtkg": {"action": "trim"}},
    "consent": {"no_sharing": {"column": "share_ok", "refused": [0]},
                "no_commercial": {"column": "commercial_ok", "refused": [0]}},
    "keep": ["arm", "cd4"],
}


def synthetic(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """A trial with a column for every kind of rule: identifiers, centres, dates, quasi-identifiers, consent."""
    rng = np.random.default_rng(seed)
    randomised = np.datetime64("2015-01-01") + rng.integers(0, 1500, n).astype("timedelta64[D]")
    died = randomised + rng.integers(30, 2000, n).astype("timedelta64[D]")
    return pd.DataFrame({
        "pid": np.arange(100001, 100001 + n), "arm": rng.choice(["A", "B"], n), "age": rng.integers(18, 96, n),
        "sex": rng.choice(["F", "M"], n), "race": rng.choice(["White", "Black", "Asian"], n, p=[0.5, 0.3, 0.2]),
        "randdate": randomised, "death_date": np.where(rng.random(n) < 0.7, np.datetime64("NaT"), died),
        "wtkg": np.round(rng.normal(75, 15, n), 1), "karnof": rng.choice([70, 80, 90, 100], n),
        "name": [f"Participant {i}" for i in range(n)], "site": rng.choice(["Leeds", "York", "Hull"], n),
        "tech": rng.choice(["T1", "T2", "T3"], n), "drugs": rng.integers(0, 2, n),
        "share_ok": np.where(rng.random(n) < 0.05, 0, 1), "commercial_ok": np.where(rng.random(n) < 0.1, 0, 1),
        "cd4": rng.integers(50, 1200, n),
    })


def deliver(tmp_repo, frame: pd.DataFrame, name: str = "t.parquet", *options: str):
    path = tmp_repo.root.parent / name
    frame.to_parquet(path)
    return tmp_repo.ingest("t", path, "--key", "pid", "--arm", "arm", "--randomised", "randdate", *options)


def write_rules(root: Path, rules: dict) -> None:
    """The curator writes the release rules into dataset.yaml and commits them."""
    path = root / "datasets/t/dataset.yaml"
    metadata = yaml.safe_load(path.read_text())
    metadata["release"] = rules
    path.write_text(yaml.safe_dump(metadata, sort_keys=False))
    git(root, "commit", "-qm", "release rules", "--", "datasets/t/dataset.yaml")


def approve(tmp_repo, ref: str = "t@v1") -> None:
    result = ipd("release", "approve", ref, "--by", "Dr Approver", "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.output + result.stderr


def release(tmp_repo, ref: str, tier: str, *args: str | Path):
    return ipd("release", ref, "--tier", tier, "--repo", tmp_repo.root, *args)


def built(tmp_repo, ref: str = "t@v1", tier: str = "noncommercial", *args: str | Path) -> dict:
    result = release(tmp_repo, ref, tier, "--json", *args)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def one_line(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0].removeprefix("error: ")


def linkage(root: Path, tier: str = "noncommercial") -> dict[int, str]:
    """Key -> the tier's release ID, as the linkage file holds them (a row without a tier serves every tier)."""
    rows = pq.read_table(root / "datasets/t/linkage/linkage.parquet").to_pylist()
    return {row["key"]: row["release_id"] for row in rows if row.get("tier") in (None, tier)}


def package(root: Path, version: str = "v1", tier: str = "noncommercial") -> Path:
    return root / f"datasets/t/releases/{version}-{tier}"


def released(root: Path, version: str = "v1", tier: str = "noncommercial"):
    return pq.read_table(package(root, version, tier) / "t.parquet")


def objects(remote: Path) -> set[str]:
    """Every object a DVC remote holds, by MD5 (a directory listing keeps its ``.dir`` suffix)."""
    return {p.parent.name + p.name for p in (remote / "files" / "md5").glob("*/*")} if remote.exists() else set()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def second_version(tmp_repo) -> None:
    """t@v2 (one corrected cell), its release plan approved but not built."""
    result = ipd("correct", "t", "--key", "100010", "--column", "cd4", "--value", "999", "--reason", "CRF page 4",
                 "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.stderr
    assert ipd("commit", "t", "-m", "query round 1", "--repo", tmp_repo.root).exit_code == 0
    approve(tmp_repo, "t@v2")



@contextmanager
def package_format(number: int) -> Iterator[None]:
    """Build releases as an ipd of an older package format did (1: before packages named the version and its
    delivery by sealed identifiers), for releases recorded before a format change."""
    import pytest

    import repo.release.record as record

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(record, "PACKAGE_FORMAT", number)
        yield


class Repo:  # a repository by its root, as the helpers here take tmp_repo
    def __init__(self, root: Path) -> None:
        self.root = root


def run(*args):
    """``ipd`` with these arguments, which must succeed."""
    result = ipd(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def copy_zones(base: Path, target: Path) -> Path:
    """A copy of both zones under ``base`` (``curation/``, ``catalogue.git`` and whatever else is there) at
    ``target``, every URL pointed at the copies."""
    shutil.copytree(base, target, symlinks=True)
    for path in [target / "curation/.dvc/config", target / "curation/ipd.toml"]:
        path.write_text(path.read_text().replace(str(base), str(target)))
    clone = target / "fix"
    git(target, "clone", "-q", str(target / "catalogue.git"), str(clone))
    for name in ("catalogue.toml", ".dvc/config"):
        (clone / name).write_text((clone / name).read_text().replace(str(base), str(target)))
    git(clone, "commit", "-qam", "moved")
    git(clone, "push", "-q")
    shutil.rmtree(clone)
    return target
