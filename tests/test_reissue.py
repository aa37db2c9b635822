"""Reissuing a release: a new issue of the same version and tier (``ipd release --reissue --reason``).

One curation repository is built once: t@v1 released for the commercial tier
as releases were before packages were sealed (package format 1, unpublishable)
and for the non-commercial tier under the current format, published to its
catalogue. A second fixture reissues the commercial release once, after a
holder pulled its first issue. Tests that change anything work on copies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import TmpRepo, git, ipd, own_home
from support.releases import (RULES, Repo, approve, copy_zones, one_line, run, synthetic,
                              write_rules)
from support.releases import package_format as legacy_format

from repo.provenance.lineage import lineage
from repo.release.record import PACKAGE_FORMAT

REASON = "sealed package format"
PACKAGE = ["README.txt", "datapackage.json", "dictionary.yaml", "disclosure.json", "manifest.json",
           "modifications.csv", "modifications.json", "ro-crate-metadata.json", "t.csv", "t.parquet", "t.xpt"]


def state(root: Path) -> dict:
    return TmpRepo(root, root).state()


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("reissue") / "base"
    with own_home(base.parent / "home"):
        root = base / "curation"
        run("init", root, "--remote", base / "restricted")
        synthetic().to_parquet(base / "t.parquet")
        run("ingest", "t", base / "t.parquet", "--key", "pid", "--arm", "arm", "--randomised", "randdate",
            "--repo", root)
        write_rules(root, RULES)
        approve(Repo(root))
        with legacy_format(1):
            run("release", "t@v1", "--tier", "commercial", "--repo", root)
        run("release", "t@v1", "--tier", "noncommercial", "--repo", root)
        run("remote", "catalogue", base / "catalogue.git", "--repo", root)
        run("release", "t@v1", "--tier", "noncommercial", "--repo", root)  # published now
    return base


@pytest.fixture(scope="module")
def reissued(legacy, tmp_path_factory) -> Path:
    """``legacy`` with a holder of the commercial release's first issue (pulled from the curation repository),
    then the commercial release reissued."""
    base = copy_zones(legacy, tmp_path_factory.mktemp("reissued") / "base")
    with own_home(base.parent / "home"):
        root = base / "curation"
        run("pull", "t@v1", "--tier", "commercial", "--from", root, "--out", base / "holder")
        run("release", "t@v1", "--tier", "commercial", "--reissue", "--reason", REASON, "--repo", root)
    return base


@pytest.fixture
def copy(legacy, tmp_path) -> Path:
    return copy_zones(legacy, tmp_path / "base")


def record(root: Path, name: str) -> dict:
    return json.loads((root / f"datasets/t/releases/{name}.json").read_text())


def test_a_format_1_release_is_not_published_and_the_release_command_changes_nothing(copy):
    root = copy / "curation"
    before, head = state(root), git(copy / "catalogue.git", "rev-parse", "main")
    message = one_line(ipd("release", "t@v1", "--tier", "commercial", "--repo", root))
    assert message == ("t@v1 (commercial) is a release of package format 1, which names the version and its "
                       "delivery by their restricted hashes: it cannot be published; reissue it (`ipd release "
                       "t@v1 --tier commercial --reissue --reason ...`)")
    assert state(root) == before
    assert git(copy / "catalogue.git", "rev-parse", "main") == head


def test_a_reissue_is_a_sealed_second_issue_with_the_same_release_ids_beside_the_first(legacy, reissued):
    root, was = reissued / "curation", legacy / "curation"
    first, second = record(root, "v1-commercial"), record(root, "v1-commercial-2")
    assert (root / "datasets/t/releases/v1-commercial.json").read_bytes() == \
        (was / "datasets/t/releases/v1-commercial.json").read_bytes()
    assert "issue" not in first and "package_format" not in first and "reissue_reason" not in first
    assert (second["issue"], second["package_format"], second["reissue_reason"]) == (2, PACKAGE_FORMAT, REASON)
    assert (second["version"], second["tier"], second["approval"]) == ("v1", "commercial", first["approval"])
    assert sorted(second["files"]) == PACKAGE
    for path in ["datasets/t/releases/v1-commercial-2.dvc", "provenance/t/v1-commercial-2.json"]:
        assert (root / path).is_file(), path
    assert sorted(p.name for p in (root / "datasets/t/releases/v1-commercial-2").iterdir()) == PACKAGE
    old = pq.read_table(root / "datasets/t/releases/v1-commercial/t.parquet")
    new = pq.read_table(root / "datasets/t/releases/v1-commercial-2/t.parquet")
    # the same rows under the same release IDs; centres get the tier's random codes (package format 3), one for one
    assert new.drop_columns(["site"]).equals(old.drop_columns(["site"]))
    pairs = set(zip(old["site"].to_pylist(), new["site"].to_pylist()))
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs}) == 3
    version_fingerprint = first["version_fingerprint"].removeprefix("sha256:")
    assert version_fingerprint in (root / "datasets/t/releases/v1-commercial/README.txt").read_text()
    assert version_fingerprint not in (root / "datasets/t/releases/v1-commercial-2/README.txt").read_text()
    assert git(root, "log", "-1", "--format=%s") == (
        f"t v1: commercial release, issue 2 ({second['rows']} participants): reissued because {REASON}")


def test_the_reissue_s_prov_record_revises_the_first_issue_and_lineage_finds_it(reissued):
    root = reissued / "curation"
    prov = json.loads((root / "provenance/t/v1-commercial-2.json").read_text())
    entity = prov["entity"]["ipd:t/releases/v1-commercial-2"]
    assert (entity["ipd:issue"], entity["ipd:reissueReason"]) == ({"$": "2", "type": "xsd:int"}, REASON)
    revisions = [d for d in prov["wasDerivedFrom"].values() if d.get("prov:type") == {"$": "prov:Revision",
                                                                                      "type": "xsd:QName"}]
    assert [(d["prov:generatedEntity"], d["prov:usedEntity"]) for d in revisions] == [
        ("ipd:t/releases/v1-commercial-2", "ipd:t/releases/v1-commercial")]
    found = lineage(root, "t@v1/commercial")
    step = found.steps[0]
    assert (found.ref, found.records[0], step.name, step.details["revises"], step.details["issue"],
            step.details["reissueReason"]) == ("t@v1/commercial-2", "provenance/t/v1-commercial-2.json",
                                               "t@v1/commercial-2", "v1-commercial", 2, REASON)
    first = lineage(root, "t@v1/commercial-1").steps[0]
    assert first.name == "t@v1/commercial" and "revises" not in first.details
    assert "t@v1/commercial-2" in run("lineage", "t@v1/commercial", "--repo", root).stdout


def test_the_reissue_is_published_with_notes_saying_it_is_a_reissue(reissued):
    root, catalogue = reissued / "curation", reissued / "catalogue.git"
    listed = git(catalogue, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert [p for p in listed if "commercial" in p and "noncommercial" not in p] == sorted(
        [*(f"datasets/t/releases/v1-commercial-2/{name}" + (".dvc" if name.startswith("t.") else "")
           for name in PACKAGE),
         "datasets/t/releases/v1-commercial-2.json", "datasets/t/notes/v1-commercial-2.json",
         "datasets/t/notes/v1-commercial-2.md", "datasets/t/provenance/v1-commercial-2.json",
         "datasets/t/publications/v1-commercial-2.json"])
    publication = json.loads(git(catalogue, "show", "main:datasets/t/publications/v1-commercial-2.json"))
    assert publication["release"] == "t@v1/commercial-2"
    old, new = (pq.read_table(root / f"datasets/t/releases/{name}/t.parquet")["site"].to_pylist()
                for name in ("v1-commercial", "v1-commercial-2"))
    recoded = sum(a != b for a, b in zip(old, new))  # centres drawn anew at random: the only values changed
    headline = ("t v1 (commercial, issue 2) — a reissue of v1 (sealed package format); released values changed "
                f"since: {recoded} cells changed, 0 records added, 0 removed")
    assert git(catalogue, "show", "main:datasets/t/notes/v1-commercial-2.md").startswith(f"# {headline}\n")
    notes = json.loads(run("release", "notes", "t@v1", "--tier", "commercial", "--repo", root, "--json").stdout)
    assert (notes["headline"], notes["issue"], notes["previous"], notes["previous_issue"], notes["reissue_reason"],
            {c["column"] for c in notes["changes"]}, len(notes["changes"])) == (
        headline, 2, "v1", 1, REASON, {"site"} if recoded else set(), recoded)
    again = run("release", "t@v1", "--tier", "commercial", "--repo", root).stdout
    assert again.startswith("t@v1 (commercial, issue 2) was released already; rebuilding it gave the same files")
    assert "Published in the catalogue already" in again


def test_verify_and_rebuild_pass_with_both_issues(reissued, tmp_path):
    root = copy_zones(reissued, tmp_path / "base") / "curation"
    for args in ((), ("--rebuild",)):
        result = ipd("verify", *args, "--repo", root, "--json")
        report = json.loads(result.stdout)
        assert (result.exit_code, report["problems"]) == (0, []), args
        # the first issue was never published, and needs no publication now that its reissue is
        assert [p["object"] for p in report["not_checked"] if "commercial" in p["object"]
                and "noncommercial" not in p["object"]] == []


def test_a_holder_of_the_first_issue_learns_of_the_reissue_and_upgrades(reissued, tmp_path):
    holder = tmp_path / "holder"
    shutil.copytree(reissued / "holder", holder)
    status = json.loads(run("status", holder, "--json").stdout)
    assert (status["version"], status["issue"], status["latest"], status["latest_issue"], status["superseded"],
            status["cells_changed"]) == ("v1", 1, "v1", 2, True, 0)
    assert status["reissues"] == [{"name": "v1-commercial-2", "version": "v1", "issue": 2, "reason": REASON}]
    assert status["notes"] == [f"v1-commercial was reissued as v1-commercial-2: {REASON}",
                               "obsoleted by v1-commercial-2 (DataCite IsObsoletedBy)"]
    assert {"relatedIdentifier": "urn:ipd-repo:t/releases/v1-commercial-2", "relatedIdentifierType": "URN",
            "relationType": "IsPreviousVersionOf", "resourceTypeGeneral": "Dataset"} in status["relations"]
    refused = one_line(ipd("pull", "t@v1", "--tier", "commercial", "--from", reissued / "curation", "--out", holder))
    assert refused == (f"{holder} already holds t@v1 (commercial release); `ipd pull --upgrade {holder}` moves it to "
                       "the latest issue")
    text = run("status", holder).stdout
    assert text.startswith("t@v1 (commercial release) is superseded by the commercial release of v1 (issue 2)")
    upgraded = run("pull", "--upgrade", holder).stdout
    assert upgraded.startswith(f"Upgraded {holder} from t@v1 (commercial release) to t@v1 (commercial release, "
                               "issue 2)")
    pin = json.loads((holder / "ipd-pin.json").read_text())
    assert (pin["version"], pin["issue"], [(h["version"], h.get("issue")) for h in pin["history"]]) == (
        "v1", 2, [("v1", None)])
    package = reissued / "curation/datasets/t/releases/v1-commercial-2"
    assert (holder / "README.txt").read_bytes() == (package / "README.txt").read_bytes()
    assert json.loads(run("status", holder, "--json").stdout)["superseded"] is False


@pytest.mark.parametrize("source", ["curation", "catalogue.git"])
def test_a_pull_naming_the_version_gets_its_latest_issue(reissued, tmp_path, source):
    out = tmp_path / "pulled"
    result = run("pull", "t@v1", "--tier", "commercial", "--from", reissued / source, "--out", out)
    assert "release of t@v1 (issue 2)" in result.stdout
    pin = json.loads((out / "ipd-pin.json").read_text())
    assert (pin["version"], pin["issue"], pin["fingerprint"]) == (
        "v1", 2, record(reissued / "curation", "v1-commercial-2")["fingerprint"])
    datacite = json.loads((out / "datacite.json").read_text())
    assert datacite["identifiers"][0]["identifier"] == "urn:ipd-repo:t/releases/v1-commercial-2"
    assert {"relatedIdentifier": "urn:ipd-repo:t/releases/v1-commercial", "relatedIdentifierType": "URN",
            "relationType": "IsNewVersionOf", "resourceTypeGeneral": "Dataset"} in datacite["relatedIdentifiers"]


def test_reissuing_what_would_come_out_the_same_is_refused(reissued, tmp_path):
    root = copy_zones(reissued, tmp_path / "base") / "curation"
    before = state(root)
    message = one_line(ipd("release", "t@v1", "--tier", "commercial", "--reissue", "--reason", "again",
                           "--repo", root))
    assert message == ("nothing to reissue: t@v1 (commercial, issue 2) comes out with the very same files under "
                       "the current package format and approval")
    assert state(root) == before


@pytest.mark.parametrize("args, message", [
    (["--reissue", "--reason", "sealed"], "t@v1 has no commercial release to reissue: release it first "
                                          "(`ipd release t@v1 --tier commercial`)"),
    (["--reissue"], "a reissue needs --reason: say why the release is reissued (it goes into the release record, "
                    "its PROV record and its release notes)"),
    (["--reissue", "--reason", "  "], "a reissue needs --reason: say why the release is reissued (it goes into "
                                      "the release record, its PROV record and its release notes)"),
    (["--reason", "sealed"], "--reason is for a reissue: add --reissue, or leave out --reason"),
])
def test_a_reissue_is_refused_in_one_line_changing_nothing(trial, args, message):
    approve(trial)
    before = state(trial.root)
    assert one_line(ipd("release", "t@v1", "--tier", "commercial", *args, "--repo", trial.root)) == message
    assert state(trial.root) == before


def test_new_disclosure_rules_for_a_published_version_are_reissued_and_its_holders_follow(copy, tmp_path):
    root, catalogue = copy / "curation", copy / "catalogue.git"
    holder = tmp_path / "holder"
    run("pull", "t@v1", "--tier", "noncommercial", "--from", catalogue, "--out", holder)
    metadata = yaml.safe_load((root / "datasets/t/dataset.yaml").read_text())["release"]
    write_rules(root, {**metadata, "quasi_identifiers": {**metadata["quasi_identifiers"],
                                                         "wtkg": {"action": "delete"}}})
    run("release", "approve", "t@v1", "--by", "Dr Approver", "--repo", root)
    refused = one_line(ipd("release", "t@v1", "--tier", "noncommercial", "--repo", root))
    assert refused.endswith("a release is never replaced: release a new version, or reissue this one (`ipd release "
                            "t@v1 --tier noncommercial --reissue --reason ...`)")
    said = run("release", "t@v1", "--tier", "noncommercial", "--reissue", "--reason", "weight deleted",
               "--repo", root).stdout.splitlines()
    rows = record(root, "v1-noncommercial-2")["rows"]
    assert said[0].startswith(f"Reissued t@v1 (noncommercial) as v1-noncommercial-2 (weight deleted): {rows} "
                              f"participants × 9 variables, package format {PACKAGE_FORMAT}, fingerprint ")
    assert said[2].startswith("Published to the catalogue (commit ")
    notes = json.loads(git(catalogue, "show", "main:datasets/t/notes/v1-noncommercial-2.json"))
    assert notes["headline"] == ("t v1 (noncommercial, issue 2) — a reissue of v1 (weight deleted); released values "
                                 "changed since: 0 cells changed, 0 records added, 0 removed, 1 column removed")
    assert notes["changes"] == [{"change": "column_removed", "release_id": None, "column": "wtkg", "old": None,
                                 "new": None, "reason": None}]
    status = json.loads(run("status", holder, "--json").stdout)
    assert (status["superseded"], status["latest_issue"], status["columns_removed"]) == (True, 2, ["wtkg"])
    assert "v1-noncommercial was reissued as v1-noncommercial-2: weight deleted" in status["notes"]
    run("pull", "--upgrade", holder)
    assert "wtkg" not in pq.read_table(holder / "t.parquet").column_names
    assert json.loads((holder / "ipd-pin.json").read_text())["issue"] == 2
    result = ipd("verify", "--rebuild", "--repo", root, "--json")
    assert (result.exit_code, json.loads(result.stdout)["problems"]) == (0, [])
