"""Release IDs per tier: each tier's own random IDs, stable across versions, never shared; shifted dates that
differ between tiers; and a linkage written before IDs were per tier, whose IDs still serve both tiers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import TmpRepo, own_home
from support.cli import ipd
from support.releases import (
    RULES,
    approve,
    built,
    deliver,
    linkage,
    one_line,
    package,
    released,
    sha256,
    synthetic,
    write_rules,
)

from repo.backends import parquet, storage

TIERS = ("noncommercial", "commercial")
SHIFT = {**RULES, "dates": {"mode": "shift", "columns": ["randdate", "death_date"]}}
PER_TIER = "in every release of this trial in this tier (the other tier gives its participants other release IDs)"
SHARED = "in every release of this trial; centre"


def ok(result):
    assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture(scope="module")
def tiers(tmp_path_factory) -> tuple[Path, dict]:
    """t@v1 and t@v2 (one corrected cell, of a participant in both tiers), each released for both tiers, dates shifted; and the build results."""
    base = tmp_path_factory.mktemp("tiers")
    with own_home(base / "home"):
        root = base / "repo"
        ok(ipd("init", root, "--remote", base / "remote"))
        trial = TmpRepo(root, base / "remote")
        deliver(trial, synthetic())
        write_rules(root, SHIFT)
        approve(trial, "t@v1")
        results = {("v1", tier): built(trial, "t@v1", tier) for tier in TIERS}
        ok(ipd("correct", "t", "--key", str(in_both()[0]), "--column", "cd4", "--value", "999", "--reason", "CRF page 4",
               "--repo", root))
        ok(ipd("commit", "t", "-m", "query round 1", "--repo", root))
        approve(trial, "t@v2")
        results |= {("v2", tier): built(trial, "t@v2", tier) for tier in TIERS}
    return root, results


def in_both() -> list[int]:
    data = synthetic()
    return [int(p) for p in data[(data.share_ok == 1) & (data.commercial_ok == 1)].pid]


def test_each_tier_gets_its_own_ids(tiers):
    root, results = tiers
    rows = pq.read_table(root / "datasets/t/linkage/linkage.parquet")
    assert rows.column_names == ["tier", "key", "release_id", "assigned"]
    everyone = {int(p) for p in synthetic().pid}
    noncommercial, commercial = linkage(root), linkage(root, "commercial")
    assert set(noncommercial) == set(commercial) == everyone  # every participant, once per tier
    assert not set(noncommercial.values()) & set(commercial.values())  # an ID names one tier
    assert rows.num_rows == 2 * len(everyone) == len(set(rows["release_id"].to_pylist()))
    assert set(rows["assigned"].to_pylist()) == {"v1"}
    assert [results["v1", tier]["new_ids"] for tier in TIERS] == [len(everyone), len(everyone)]
    shown = {tier: set(released(root, "v1", tier)["release_id"].to_pylist()) for tier in TIERS}
    assert not shown["noncommercial"] & shown["commercial"]  # who refused commercial use is not the difference
    assert shown["commercial"] == {commercial[p] for p in in_both()}


def test_each_tier_keeps_its_ids_across_versions(tiers):
    root, results = tiers
    assert [results["v2", tier]["new_ids"] for tier in TIERS] == [0, 0]
    for tier in TIERS:
        ids = linkage(root, tier)
        first, second = released(root, "v1", tier), released(root, "v2", tier)
        assert first["release_id"].to_pylist() == second["release_id"].to_pylist()
        corrected = second.filter(pc.equal(second["release_id"], ids[in_both()[0]]))
        assert corrected["cd4"].to_pylist() == [999]


def test_the_package_says_ids_are_per_tier(tiers):
    root, _ = tiers
    for tier in TIERS:
        folder = package(root, "v1", tier)
        assert PER_TIER in " ".join((folder / "README.txt").read_text().split())
        columns = yaml.safe_load((folder / "dictionary.yaml").read_text())["columns"]
        assert columns[0]["recoding"] == f"replaces pid; a participant keeps its release ID {PER_TIER}"


def test_lookup_finds_a_participant_from_either_tier(tiers):
    root, _ = tiers
    pid = in_both()[0]
    for tier in TIERS:
        rid = linkage(root, tier)[pid]
        for args in ([], ["--tier", tier]):
            result = ok(ipd("release", "lookup", "t", rid, *args, "--repo", root))
            assert result.stdout.strip() == f"{rid} is pid {pid} in t ({tier} release ID, given in the release of t@v1)"
        found = json.loads(ok(ipd("release", "lookup", "t", rid, "--repo", root, "--json")).stdout)
        assert found == {"trial": "t", "release_id": rid, "tier": tier, "key_column": "pid", "key": pid,
                         "assigned": "v1"}
    rid = linkage(root, "commercial")[pid]
    assert one_line(ipd("release", "lookup", "t", rid, "--tier", "noncommercial", "--repo", root)) == \
        f"{rid} is a commercial release ID of t, not a noncommercial one"
    assert one_line(ipd("release", "lookup", "t", rid, "--tier", "public", "--repo", root)) == \
        "unknown tier 'public'; choose noncommercial or commercial"


def offsets(root: Path, version: str, tier: str) -> pd.DataFrame:
    """Per participant in both tiers, by how many days each date column was shifted in the tier's release."""
    data = synthetic().set_index("pid")
    table = released(root, version, tier).to_pandas().set_index("release_id")
    keys = {rid: pid for pid, rid in linkage(root, tier).items()}
    table.index = [keys[rid] for rid in table.index]
    both = in_both()
    return pd.DataFrame({c: (table.loc[both, c] - data.loc[both, c]).dt.days for c in ("randdate", "death_date")})


def test_shifted_dates_differ_between_tiers(tiers):
    root, _ = tiers
    shifts = {tier: offsets(root, "v1", tier) for tier in TIERS}
    for tier, found in shifts.items():
        dated = found.dropna()
        assert len(dated) > 50 and (dated.randdate == dated.death_date).all()  # one offset per participant
        assert found.randdate.abs().between(1, 365).all()
        assert found.equals(offsets(root, "v2", tier))  # stable across versions within the tier
    same = (shifts["noncommercial"].randdate == shifts["commercial"].randdate).sum()
    assert same <= 5, f"{same} of {len(in_both())} participants were shifted alike in both tiers"  # chance: 1 in 730


def test_the_releases_rebuild(tiers):
    root, _ = tiers
    result = ipd("verify", "--rebuild", "--repo", root, "--json")
    assert (result.exit_code, json.loads(result.stdout)["problems"]) == (0, []), result.stderr


# -- a linkage from before IDs were per tier ---------------------------------------------------------------


def legacy_linkage(root: Path, keys: list[int]) -> dict[int, str]:
    """A linkage as ipd wrote it when a participant had one ID for every tier: no tier column."""
    ids = {key: f"R{(i * 7919 + 12345) % 10**7:07d}" for i, key in enumerate(keys)}
    folder = root / "datasets/t/linkage"
    folder.mkdir()
    table = pa.table({"key": pa.array(list(ids), pa.int64()), "release_id": list(ids.values()),
                      "assigned": ["v1"] * len(ids)})
    parquet.write(table.sort_by("release_id"), folder / "linkage.parquet")
    (folder / "shift.key").write_text("5e" * 32 + "\n")
    storage.add(root, ["datasets/t/linkage"])
    return ids


def test_a_legacy_linkage_serves_both_tiers(trial):
    root, data = trial.root, synthetic()
    approve(trial)
    ids = legacy_linkage(root, [int(p) for p in data.pid])
    before = sha256(root / "datasets/t/linkage/linkage.parquet")
    assert [built(trial, "t@v1", tier)["new_ids"] for tier in TIERS] == [0, 0]
    assert sha256(root / "datasets/t/linkage/linkage.parquet") == before  # written back as it was read
    sharing = data[data.share_ok == 1]
    assert set(released(root)["release_id"].to_pylist()) == {ids[p] for p in sharing.pid}
    assert set(released(root, tier="commercial")["release_id"].to_pylist()) == {ids[p] for p in in_both()}
    for tier in TIERS:  # the package says what it said before IDs were per tier
        assert SHARED in " ".join((package(root, "v1", tier) / "README.txt").read_text().split())
    pid = in_both()[0]
    result = ok(ipd("release", "lookup", "t", ids[pid], "--tier", "commercial", "--repo", root))
    assert result.stdout.strip() == f"{ids[pid]} is pid {pid} in t (release ID of every tier, given in the release " \
                                    "of t@v1)"
    assert json.loads(ok(ipd("release", "lookup", "t", ids[pid], "--repo", root, "--json")).stdout)["tier"] is None

    newcomer = synthetic(1, seed=99).assign(pid=200001, share_ok=1, commercial_ok=1)
    deliver(trial, pd.concat([data, newcomer]), "t2.parquet")
    approve(trial, "t@v2")
    assert [built(trial, "t@v2", tier)["new_ids"] for tier in TIERS] == [1, 1]
    rows = pq.read_table(root / "datasets/t/linkage/linkage.parquet")
    assert rows.column_names == ["tier", "key", "release_id", "assigned"]
    rows = rows.to_pylist()
    assert {r["key"]: r["release_id"] for r in rows if r["tier"] is None} == ids  # the legacy rows, as they were
    added = {r["tier"]: r["release_id"] for r in rows if r["key"] == 200001}
    assert set(added) == set(TIERS) and added["noncommercial"] != added["commercial"]
    assert not set(added.values()) & set(ids.values())
    assert PER_TIER in " ".join((package(root, "v2", "commercial") / "README.txt").read_text().split())
    assert built(trial, "t@v1", "noncommercial")["built"] is False  # v1 still rebuilds to the same bytes
    result = ipd("verify", "--rebuild", "--repo", root, "--json")
    assert (result.exit_code, json.loads(result.stdout)["problems"]) == (0, []), result.stderr
