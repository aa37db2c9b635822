"""Quasi-identifiers on real trials: race and sex recognised whatever they are called, centres counted in the
disclosure figures, and centre codes drawn at random per tier, kept across versions, never in name order."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from conftest import git, ipd, own_home
from repo.backends.sql import connect
from repo.release import record
from repo.release.plan import proposed_rules
from repo.release.recognise import cell_warnings, cells
from repo.release.rules import ReleaseRules
from support.releases import approve, built, linkage, package, write_rules

REAL = Path(__file__).parent / "data" / "real"
PUBLIC = "public data set (R package survival): no consent restrictions were delivered with it"
CGD_RULES = {
    "min_cell": 1, "sex": "sex", "participant_id": "id", "age": {"column": "age"},
    # hos.cat (US: NIH, US: other, Europe: Amsterdam, Europe: other) groups the centres; deleted, it also keeps
    # its dot out of the SAS transport file, which refuses such names
    "centres": {"center": "recode", "hos.cat": "delete"},
    "consent": {"no_sharing": {"none": True, "reason": PUBLIC}, "no_commercial": {"none": True, "reason": PUBLIC}},
}
NEW_CENTRE = 300  # within the range the suite expects, new to the trial
NO_RACE = ("no race column was found (by role, name, label, value labels or values): the minimum cell size is "
           "checked within sex cells only; if the trial records race, name its column in release.race")


def run(*args):
    result = ipd(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture(scope="module")
def cgd(tmp_path_factory):
    """CGD (13 centres) as trial t: v1 released for both tiers, the commercial one as a release recorded before
    codes were drawn at random (package format 2); v2 moves participant 5 to a new centre, released for both."""
    base = tmp_path_factory.mktemp("cgd")
    with own_home(base / "home"):
        root = base / "repo"
        run("init", root, "--remote", base / "remote")
        run("ingest", "t", REAL / "cgd0.csv", "--key", "id", "--arm", "treat", "--repo", root)
        write_rules(root, CGD_RULES)

        class Repo:  # what the helpers of support.releases expect
            def __init__(self, root):
                self.root = root

        approve(Repo(root), "t@v1")
        built(Repo(root), "t@v1", "noncommercial")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(record, "PACKAGE_FORMAT", 2)
            built(Repo(root), "t@v1", "commercial")
        run("correct", "t", "--key", "5", "--column", "center", "--value", str(NEW_CENTRE), "--reason", "CRF",
            "--repo", root)
        run("commit", "t", "-m", "centre of participant 5", "--repo", root)
        approve(Repo(root), "t@v2")
        for tier in ("noncommercial", "commercial"):
            built(Repo(root), "t@v2", tier)
        yield root


def centre_codes(root: Path, version: str, tier: str) -> dict[int, str]:
    """Original centre -> released code, joining the released rows to the source through the linkage."""
    source = pd.read_csv(REAL / "cgd0.csv")
    if version == "v2":
        source.loc[source.id == 5, "center"] = NEW_CENTRE
    key_of = {rid: key for key, rid in linkage(root, tier).items()}
    rows = pq.read_table(package(root, version, tier) / "t.parquet").to_pandas()
    rows["id"] = rows["release_id"].map(key_of)
    both = rows.merge(source, on="id", suffixes=("", "_orig"), validate="one_to_one")
    pairs = dict(zip(both["center_orig"], both["center"]))
    assert len(set(pairs.values())) == len(pairs)  # one code per centre, one centre per code
    return pairs


def test_centre_codes_are_a_random_permutation_not_the_order_of_the_names(cgd):
    codes = centre_codes(cgd, "v1", "noncommercial")
    centres = sorted(codes)
    assert len(centres) == 13 and sorted(codes.values()) == [f"C{i:02d}" for i in range(1, 14)]
    in_name_order = {c: f"C{i:02d}" for i, c in enumerate(centres, 1)}
    assert codes != in_name_order and codes != {c: f"C{14 - i:02d}" for i, c in enumerate(centres, 1)}
    dictionary = yaml.safe_load((package(cgd, "v1", "noncommercial") / "dictionary.yaml").read_text())
    [entry] = [c for c in dictionary["columns"] if c["name"] == "center"]
    assert entry["recoding"] == ("clinical centre identifiers replaced by codes drawn at random (C01…C13), not in the "
                                 "order of the original values; a clinical centre keeps its code in every release of "
                                 "this tier, and the other tier has codes of its own")
    log = json.loads((package(cgd, "v1", "noncommercial") / "modifications.json").read_text())
    assert [m["parameters"] for m in log if m["variable"] == "center"] == [{"codes": 13, "first": "C01",
                                                                            "last": "C13"}]


def test_the_codes_are_kept_beside_the_linkage_restricted(cgd):
    folder = cgd / "datasets/t/linkage"
    stored = pq.read_table(folder / "codes.parquet").to_pylist()
    noncommercial = {int(r["value"]): r["code"] for r in stored if r["tier"] == "noncommercial"}
    assert noncommercial == centre_codes(cgd, "v2", "noncommercial") | centre_codes(cgd, "v1", "noncommercial")
    assert {r["column"] for r in stored} == {"center"}
    assert {r["assigned"] for r in stored if r["value"] == str(NEW_CENTRE)} == {"v2"}
    assert stat.S_IMODE((folder / "codes.parquet").stat().st_mode) == 0o600
    for version in ("v1", "v2"):
        for tier in ("noncommercial", "commercial"):
            assert not any(p.name == "codes.parquet" for p in package(cgd, version, tier).rglob("*"))
    assert "codes.parquet" not in git(cgd, "ls-files")


def test_a_centre_keeps_its_code_in_the_next_version_and_a_new_centre_gets_a_new_one(cgd):
    v1, v2 = centre_codes(cgd, "v1", "noncommercial"), centre_codes(cgd, "v2", "noncommercial")
    assert {c: v2[c] for c in v1 if c in v2} == {c: v1[c] for c in v1 if c in v2}
    assert v2[NEW_CENTRE] == "C14"  # the next number: no code of v1 changes or moves


def test_each_tier_draws_its_own_codes(cgd):
    noncommercial, commercial = centre_codes(cgd, "v2", "noncommercial"), centre_codes(cgd, "v2", "commercial")
    assert noncommercial.keys() == commercial.keys() and noncommercial != commercial
    assert sorted(commercial.values()) == [f"C{i:02d}" for i in range(1, 15)]


def test_a_release_recorded_before_keeps_its_sorted_codes_and_every_release_rebuilds(cgd):
    legacy = centre_codes(cgd, "v1", "commercial")
    assert legacy == {c: f"C{i:02d}" for i, c in enumerate(sorted(legacy), 1)}
    assert json.loads((cgd / "datasets/t/releases/v1-commercial.json").read_text())["package_format"] == 2
    assert json.loads((cgd / "datasets/t/releases/v2-commercial.json").read_text())["package_format"] == record.PACKAGE_FORMAT
    result = ipd("verify", "--rebuild", "--repo", cgd, "--json")
    assert (result.exit_code, json.loads(result.stdout)["problems"]) == (0, [])


def test_the_disclosure_figures_count_the_centre(cgd):
    figures = json.loads((package(cgd, "v1", "noncommercial") / "disclosure.json").read_text())
    assert figures["quasi_identifiers"] == ["sex", "age", "center"]
    rows = pq.read_table(package(cgd, "v1", "noncommercial") / "t.parquet").to_pandas()
    sizes = rows.groupby(["sex", "age", "center"], dropna=False)["release_id"].transform("size")
    assert (figures["k"], figures["sample_uniques"], figures["equivalence_classes"]) == \
        (sizes.min(), int((sizes == 1).sum()), rows.groupby(["sex", "age", "center"], dropna=False).ngroups)
    assert figures["prosecutor"]["mean"] == pytest.approx((1 / sizes).mean(), abs=1e-6)
    # the release recorded before keeps the figures it was built with: centres were left out then
    legacy = json.loads((package(cgd, "v1", "commercial") / "disclosure.json").read_text())
    assert legacy["quasi_identifiers"] == ["sex", "age"]


def test_a_trial_without_race_says_so(cgd):
    found = json.loads(run("release", "plan", "t@v2", "--json", "--repo", cgd).stdout)
    assert found["warnings"] == [NO_RACE]
    text = run("release", "plan", "t@v2", "--repo", cgd).stdout
    assert f"  warning: {NO_RACE}" in " ".join(text.split("\n"))  # rich may wrap the line


# -- race and sex, whatever they are called ------------------------------------------------------------

def pbc_with_race(name: str = "raceth", seed: int = 14) -> pd.DataFrame:
    """PBC with a race column as a US trial would record it (mostly White, a few of each other group)."""
    frame = pd.read_csv(REAL / "pbc.csv")
    rng = np.random.default_rng(seed)
    frame.insert(6, name, rng.choice(["White", "Black", "Hispanic", "Asian", "Other"], len(frame),
                                     p=[0.78, 0.09, 0.08, 0.03, 0.02]))
    return frame


def recognised(frame: pd.DataFrame, columns: list | None = None) -> dict:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    con = connect()
    con.register("rows", table)
    return cells({"trial": "pbc", "key": "id", "columns": columns or []}, con, "rows", table.schema)


def test_raceth_is_recognised_and_counted_in_the_race_sex_cells():
    frame = pbc_with_race()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    proposed = proposed_rules({"trial": "pbc", "key": "id", "roles": {"arm": "trt"}, "columns": []}, table)
    assert (proposed.race, proposed.sex) == ("raceth", "sex")
    counts = frame.groupby(["raceth", "sex"]).size()  # each sex is a value counted in its race–sex cell
    small = int((counts < 20).sum())
    assert proposed.rationale["sex"].startswith(f"race–sex cell variable: {small} of its counts per value and "
                                                f"race–sex cell are below 20 (smallest {counts.min()})")
    assert "share them in every race–sex cell" in proposed.rationale["age"]


@pytest.mark.parametrize("name", ["raceth", "race_eth", "RACECAT", "race1", "ethnic", "Ethnicity"])
def test_race_is_recognised_by_its_name(name):
    found = recognised(pbc_with_race(name))
    assert (found["race"].column, found["race"].how, found["sex"].column) == (name, "name", "sex")


def test_race_and_sex_are_recognised_by_their_values_and_value_labels():
    frame = pbc_with_race("v7").rename(columns={"sex": "q3"})
    frame["q3"] = frame["q3"].map({"f": "Female", "m": "Male"})
    found = recognised(frame)
    assert (found["race"].column, found["race"].evidence) == ("v7", "its values: Asian, Black, Hispanic, Other, …")
    assert (found["sex"].column, found["sex"].evidence) == ("q3", "its values: Female, Male")
    frame["v7"] = frame["v7"].map({"White": 1, "Black": 2, "Hispanic": 3, "Asian": 4, "Other": 9})
    labels = [{"name": "v7", "values": [{"value": v, "label": w} for v, w in
                                        ((1, "White"), (2, "Black or African American"), (3, "Hispanic or Latino"),
                                         (4, "Asian"), (9, "Other"))]}]
    found = recognised(frame, labels)
    assert (found["race"].column, found["race"].how) == ("v7", "value labels")


def test_no_false_race_in_real_trials():
    for name in ("pbc.csv", "udca.csv"):
        frame = pd.read_csv(REAL / name)
        found = recognised(frame)
        assert found["race"] is None, name
    assert recognised(pd.read_csv(REAL / "pbc.csv"))["sex"].column == "sex"


def test_rules_that_leave_out_a_race_column_the_data_show_are_warned_of():
    found = recognised(pbc_with_race())
    assert cell_warnings(ReleaseRules("id", race="raceth", sex="sex"), found) == []
    assert cell_warnings(ReleaseRules("id", sex="sex"), found) == [
        "release.race is not set, but raceth (its name says race) looks like race: the minimum cell size is "
        "checked within sex cells only; name it in release.race"]
    assert cell_warnings(ReleaseRules("id"), {"race": None, "sex": None})[1] == (
        "no sex column was found (by role, name, label, value labels or values): the whole trial is one cell for "
        "the minimum cell size; if the trial records sex, name its column in release.sex")
