"""The project's own example repository: real trials, obtainable from any fresh clone."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

import repo
from conftest import ACTG175, DATA, GBSG2, PROJECT, ipd

CGD = DATA / "real" / "cgd.csv"

RELEASED = {"actg175": ACTG175, "gbsg2": GBSG2}  # trial -> the delivery as received (lifelines)
# released trials of several records a participant: their data files and rows (CGD: one row an episode)
RECORDS = {"cgd": {"cgd.csv": 203}, "pbc": {"pbc.csv": 418, "pbc.pbcseq.csv": 1945}}
ORIGINALS = {**RELEASED, "cgd": CGD,  # R's survival: CGD, one row per infection episode; PBC, two tables
             "pbc": [DATA / "real" / "pbc.csv", DATA / "real" / "pbcseq.csv"], "udca": DATA / "real" / "udca.csv"}
TOPIC = "pbc-treatment"  # PBC and UDCA pooled


def test_example_trials_are_there():
    assert repo.open(PROJECT).trials() == ["actg175", "cgd", "gbsg2", "pbc", "pbc-treatment", "udca"]


@pytest.mark.parametrize("trial", sorted(ORIGINALS))
def test_every_version_can_be_obtained_from_a_fresh_clone(fresh_clone, trial):
    dataset = repo.open(fresh_clone).dataset(trial)
    for record in dataset.records():
        version = dataset.version(record.version)
        version.verify()  # parts fetched from the in-tree remote, checked by MD5 and fingerprint
        assert version.to_arrow().num_rows == record.rows


@pytest.mark.parametrize("trial", sorted(ORIGINALS))
def test_deliveries_record_where_they_came_from(trial):
    metadata = repo.open(PROJECT).dataset(trial).metadata()
    first = metadata["deliveries"][0]
    assert ("lifelines" if trial in RELEASED else "R package survival") in first["origin"]
    assert first["sha256"] == _sha256(ORIGINALS[trial])


def _sha256(original) -> str:
    """A file's SHA-256; a folder's, that of the list of its files' (as sha256sum lists them, by name)."""
    if not isinstance(original, list):
        return hashlib.sha256(original.read_bytes()).hexdigest()
    listing = "".join(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.name}\n" for f in sorted(original))
    return hashlib.sha256(listing.encode()).hexdigest()


def test_a_requestor_pulls_from_the_fresh_clone(fresh_clone, tmp_path):
    result = ipd("pull", "gbsg2@v1", "--from", fresh_clone, "--out", tmp_path / "out", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    header = (tmp_path / "out" / "gbsg2.csv").read_text().splitlines()[0]
    assert header.startswith('"id","diagdateb","recdate","deathdate"')


def test_the_example_repository_validates_from_a_fresh_clone(fresh_clone, tmp_path):
    result = ipd("validate", "--repo", fresh_clone, "--json", "--junit", tmp_path / "junit.xml")
    assert result.exit_code == 0, result.stdout[-2000:] + result.stderr
    assert '"success": true' in result.stdout
    assert (tmp_path / "junit.xml").read_text().count("<failure") == 0


@pytest.mark.parametrize("trial", sorted(RELEASED))
@pytest.mark.parametrize("tier", ["noncommercial", "commercial"])
def test_a_requestor_pulls_a_release_from_the_fresh_clone(fresh_clone, tmp_path, trial, tier):
    """Releases come from the in-tree release remote, checked file by file and against their fingerprint."""
    result = ipd("pull", f"{trial}@v1", "--tier", tier, "--from", fresh_clone, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    released = json.loads((fresh_clone / f"datasets/{trial}/releases/v1-{tier}-2.json").read_text())
    pin = json.loads((tmp_path / "out" / "ipd-pin.json").read_text())
    assert (pin["trial"], pin["version"], pin["tier"], pin["issue"], pin["fingerprint"]) == (
        trial, "v1", tier, 2, released["fingerprint"])
    assert sorted(pin["files"]) == sorted(released["files"])
    key = repo.open(fresh_clone).dataset(trial).version("v1").record.key
    header = (tmp_path / "out" / f"{trial}.csv").read_text().splitlines()[0]
    assert header.startswith('"release_id"') and f'"{key}"' not in header


@pytest.fixture(scope="module")
def catalogue_only(fresh_clone, tmp_path_factory):
    """What a release holder is given: the example catalogue and the release remote beside it, nothing else."""
    holder = tmp_path_factory.mktemp("holder")
    for name in (".catalogue.git", ".dvcstore-release"):
        shutil.copytree(fresh_clone / name, holder / name)
    return holder / ".catalogue.git"


@pytest.mark.parametrize("trial", sorted(RELEASED))
def test_a_release_holder_pulls_from_the_example_catalogue_alone(catalogue_only, tmp_path, trial):
    out = tmp_path / "out"
    result = ipd("pull", f"{trial}@v1", "--tier", "noncommercial", "--from", catalogue_only, "--out", out)
    assert result.exit_code == 0, result.stderr
    pin = json.loads((out / "ipd-pin.json").read_text())
    assert (pin["version"], pin["issue"]) == ("v1", 2)
    curation = json.loads((PROJECT / f"datasets/{trial}/releases/v1-noncommercial-2.json").read_text())
    assert pin["fingerprint"] == curation["fingerprint"]
    delivery = repo.open(PROJECT).dataset(trial).metadata()["deliveries"][0]
    package = "".join((out / name).read_text() for name in ("README.txt", "datapackage.json",
                                                             "ro-crate-metadata.json"))
    for restricted in (delivery["sha256"], curation["version_fingerprint"].removeprefix("sha256:")):
        assert restricted not in package  # a sealed package names neither the delivery nor the version
    status = json.loads(ipd("status", out, "--json").stdout)
    assert (status["latest"], status["superseded"]) == ("v1", False)


def test_the_example_catalogue_passes_its_audit(fresh_clone):
    result = ipd("catalogue", "audit", "--repo", fresh_clone, "--json")
    assert result.exit_code == 0, result.stdout[-2000:] + result.stderr
    report = json.loads(result.stdout)
    assert report["success"] and report["findings"] == [] and report["not_checked"] == []
    assert report["objects"] > 0 and sorted(report["releases"]) == sorted(
        [f"{trial}@v1-{tier}{issue}" for trial in RELEASED for tier in ("commercial", "noncommercial")
         for issue in ("", "-2")] + [f"{trial}@v1-{tier}" for trial in RECORDS for tier in ("commercial", "noncommercial")])


@pytest.mark.parametrize("trial", sorted(RECORDS))
def test_a_holder_pulls_a_release_of_several_records_a_participant_from_the_catalogue(catalogue_only, tmp_path,
                                                                                       trial):
    """PBC's visits and CGD's episodes come out under the participants' release IDs, every file checked."""
    out = tmp_path / "out"
    result = ipd("pull", f"{trial}@v1", "--tier", "noncommercial", "--from", catalogue_only, "--out", out)
    assert result.exit_code == 0, result.stderr
    data = {name: (out / name).read_text().splitlines() for name in RECORDS[trial]}
    assert {name: len(lines) - 1 for name, lines in data.items()} == RECORDS[trial]
    participants = {line.split(",")[0] for line in data[f"{trial}.csv"][1:]}
    for lines in data.values():
        assert lines[0].startswith('"release_id"') and '"id"' not in lines[0]
        assert {line.split(",")[0] for line in lines[1:]} <= participants


def test_the_example_topic_pools_pbc_and_udca_and_is_analysed_from_a_fresh_clone(fresh_clone, tmp_path):
    """The pooled version pools again from its trial versions and mappings; the analysis runs on it."""
    record = repo.open(fresh_clone).dataset(TOPIC).version("v1").record
    assert [(s["trial"], s["version"]) for s in record.sources] == [("pbc", "v1"), ("udca", "v1")]
    assert record.rows == 312 + 170
    result = ipd("analyse", TOPIC, "--treatment", "arm", "--active", "active", "--outcome", "days,event", "--json",
                 "--repo", fresh_clone)
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    assert [(t["trial"], t["n"], t["events"]) for t in found["trials"]] == [("pbc", 312, 144), ("udca", 170, 28)]
    status = json.loads(ipd("topic", "status", TOPIC, "--json", "--repo", fresh_clone).stdout)
    assert status["stale"] is False
