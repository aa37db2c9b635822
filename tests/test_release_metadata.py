"""Release packages describe themselves: a Frictionless datapackage.json, an RO-Crate, and DataCite relations."""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from pathlib import Path

import pytest
import yaml

from conftest import git, ipd
from support.releases import approve, built, package, released, second_version, sha256

PACKAGE_FILES = ["README.txt", "datapackage.json", "dictionary.yaml", "disclosure.json", "manifest.json",
                 "modifications.csv", "modifications.json", "ro-crate-metadata.json", "t.csv", "t.parquet", "t.xpt"]
URN = "urn:ipd-repo:t"


def _describe(root: Path) -> None:
    """The curator labels columns and values in dataset.yaml and gives a licence."""
    path = root / "datasets/t/dataset.yaml"
    metadata = yaml.safe_load(path.read_text())
    metadata["license"] = "https://creativecommons.org/licenses/by/4.0/"
    metadata["title"] = "Test trial"
    for column in metadata["columns"]:
        if column["name"] == "arm":
            column["label"] = "Treatment arm"
            for value in column["values"]:
                value["label"] = {"A": "Zidovudine", "B": "Didanosine"}[value["value"]]
        if column["name"] == "karnof":  # collapsed in the release: its labels no longer apply
            for value in column["values"]:
                value["label"] = f"Karnofsky {value['value']}"
        if column["name"] == "cd4":
            column["label"] = "CD4 count (cells/mm3)"
    path.write_text(yaml.safe_dump(metadata, sort_keys=False))
    git(root, "commit", "-qm", "labels and licence", "--", "datasets/t/dataset.yaml")


@pytest.fixture
def described(trial):
    _describe(trial.root)
    approve(trial)
    return trial


def _record(root: Path, version: str = "v1", tier: str = "commercial") -> dict:
    return json.loads((root / f"datasets/t/releases/{version}-{tier}.json").read_text())


def test_datapackage_describes_the_csv_and_validates(described):
    import frictionless

    built(described, "t@v1", "commercial")
    folder = package(described.root, "v1", "commercial")
    assert sorted(p.name for p in folder.iterdir()) == PACKAGE_FILES
    report = frictionless.validate(folder / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "message"])
    descriptor = json.loads((folder / "datapackage.json").read_text())
    assert (descriptor["name"], descriptor["id"], descriptor["version"], descriptor["title"]) == (
        "t-v1-commercial", f"{URN}/releases/v1-commercial", "v1", "Test trial (v1, commercial release)")
    assert descriptor["created"] == _record(described.root)["approval"]["when"]
    assert descriptor["licenses"] == [{"path": "https://creativecommons.org/licenses/by/4.0/"}]
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert {name: (r["path"], r["hash"], r["bytes"]) for name, r in resources.items()} == {
        f"t-{fmt}": (f"t.{fmt}", f"sha256:{sha256(folder / f't.{fmt}')}", (folder / f"t.{fmt}").stat().st_size)
        for fmt in ("csv", "parquet", "xpt")}
    schema = resources["t-csv"]["schema"]
    assert schema["primaryKey"] == ["release_id"] and schema["missingValues"] == [""]
    fields = {f["name"]: f for f in schema["fields"]}
    assert list(fields) == released(described.root, "v1", "commercial").column_names
    assert {name: f["type"] for name, f in fields.items()} == {
        "release_id": "string", "arm": "string", "age": "string", "sex": "string", "race": "string",
        "death_date": "integer", "wtkg": "number", "karnof": "string", "site": "string", "cd4": "integer"}
    assert fields["release_id"]["constraints"] == {"required": True, "unique": True}
    assert fields["cd4"]["title"] == "CD4 count (cells/mm3)" and "description" not in fields["cd4"]
    assert fields["arm"]["title"] == "Treatment arm"
    assert fields["arm"]["categories"] == [{"value": "A", "label": "Zidovudine"}, {"value": "B", "label": "Didanosine"}]
    assert fields["karnof"]["categories"] == [{"value": "100"}, {"value": "<=90"}]  # recoded: no labels
    assert fields["karnof"]["description"].startswith("collapsed: ")
    package_ = frictionless.Package(folder / "datapackage.json")
    assert package_.get_table_resource("t-csv").schema.primary_key == ["release_id"]


def test_ro_crate_lists_every_file_and_how_it_was_made(described):
    from rocrate.rocrate import ROCrate

    built(described, "t@v1", "commercial")
    folder = package(described.root, "v1", "commercial")
    record = _record(described.root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rocrate warns of anything it takes for a stray data entity
        crate = ROCrate(folder)
    root = crate.root_dataset
    assert (root["name"], root["version"], root["datePublished"], root["identifier"]) == (
        "t v1: Commercial Purpose Data Set", "v1", record["approval"]["when"], f"{URN}/releases/v1-commercial")
    assert root["license"].id == "https://creativecommons.org/licenses/by/4.0/"
    parts = {e.id: e for e in root["hasPart"]}
    assert sorted(parts) == sorted(n for n in record["files"] if n != "ro-crate-metadata.json")
    hashed = {n: e["sha256"] for n, e in parts.items() if "sha256" in e}
    assert hashed == {n: h for n, h in record["files"].items() if n not in ("manifest.json", "ro-crate-metadata.json")}
    assert all(int(parts[n]["contentSize"]) == (folder / n).stat().st_size for n in hashed)
    assert parts["t.parquet"]["encodingFormat"] == "application/vnd.apache.parquet"
    assert parts["t.csv"]["encodingFormat"] == "text/csv"
    action = crate.dereference("#release-v1-commercial")
    assert action.type == "CreateAction" and action["result"] is root
    assert (action["instrument"]["name"], action["instrument"]["version"]) == ("ipd-repo", record["tool"]["version"])
    assert action["object"].id == f"{URN}/v1"
    secret = bytes.fromhex((described.root / "datasets/t/linkage/shift.key").read_text().strip())

    def sealed(value: str) -> str:  # HMAC-SHA-256 with the trial's secret: the hash stays in the restricted zone
        return "sealed:" + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()

    assert action["object"]["identifier"] == sealed(record["version_fingerprint"])
    assert (action["agent"].id, action["agent"]["name"]) == ("mailto:curator@example.org", "Test Curator")
    assert root["isVersionOf"].id == URN
    delivery = yaml.safe_load((described.root / "datasets/t/dataset.yaml").read_text())["deliveries"][0]
    opaque = f"{URN}/delivery/{sealed(delivery['sha256']).removeprefix('sealed:')[:32]}"
    assert [e.id for e in root["isBasedOn"]] == [f"{URN}/v1", opaque]  # neither the delivery's name nor its hash
    assert "sha256" not in root["isBasedOn"][1]
    assert "replaces" not in root  # the first release of the tier
    descriptor = json.loads((folder / "datapackage.json").read_text())
    assert [(r["relationType"], r["relatedIdentifier"]) for r in descriptor["relatedIdentifiers"]] == [
        ("IsVersionOf", URN), ("IsDerivedFrom", f"{URN}/v1"), ("IsDerivedFrom", opaque)]
    for name in record["files"]:
        if name.endswith((".json", ".txt", ".yaml", ".csv")):
            text = (folder / name).read_text()
            assert delivery["file"] not in text and delivery["sha256"] not in text, name
            assert record["version_fingerprint"] not in text, name


def test_relations_between_releases_and_identical_rebuilds(described):
    from repo.release.relations import relations

    first = built(described, "t@v1", "commercial")
    before = {p.name: p.read_bytes() for p in package(described.root, "v1", "commercial").iterdir()}
    assert "IsObsoletedBy" not in {r["relationType"] for r in relations(described.root, "t", "v1", "commercial")}
    second_version(described)
    built(described, "t@v2", "commercial")
    crate = json.loads((package(described.root, "v2", "commercial") / "ro-crate-metadata.json").read_text())
    root = next(e for e in crate["@graph"] if e["@id"] == "./")
    assert root["replaces"] == {"@id": f"{URN}/releases/v1-commercial"}  # IsNewVersionOf the previous release
    assert [(r["relationType"], r["relatedIdentifier"]) for r in relations(described.root, "t", "v1", "commercial")
            if r["relationType"] not in ("IsVersionOf", "IsDerivedFrom")] == [
        ("IsPreviousVersionOf", f"{URN}/releases/v2-commercial"), ("IsObsoletedBy", f"{URN}/releases/v2-commercial")]
    assert [r["relationType"] for r in relations(described.root, "t", "v2", "commercial")] == [
        "IsVersionOf", "IsDerivedFrom", "IsDerivedFrom", "IsNewVersionOf"]
    # rebuilt by someone else and after v2 exists, v1 gives the very same bytes (its package never names v2)
    git(described.root, "config", "user.name", "Another Curator")
    git(described.root, "config", "user.email", "another@example.org")
    again = built(described, "t@v1", "commercial")
    assert again["built"] is False and again["files"] == first["files"]
    assert {p.name: p.read_bytes() for p in package(described.root, "v1", "commercial").iterdir()} == before
    assert built(described, "t@v2", "commercial")["built"] is False


def test_releases_recorded_within_one_second_rebuild_the_same(described, monkeypatch):
    """Which release came first is read from git history: records carry times to the second only."""
    from types import SimpleNamespace

    from repo.release import build

    monkeypatch.setattr(build, "clock", SimpleNamespace(now=lambda: "2026-01-01T00:00:00+00:00"))  # releases only
    built(described, "t@v1", "commercial")
    second_version(described)
    first = built(described, "t@v2", "commercial")
    crate = json.loads((package(described.root, "v2", "commercial") / "ro-crate-metadata.json").read_text())
    assert next(e for e in crate["@graph"] if e["@id"] == "./")["replaces"] == {"@id": f"{URN}/releases/v1-commercial"}
    again = built(described, "t@v2", "commercial")
    assert again["built"] is False and again["files"] == first["files"]


def test_status_and_pull_tell_a_holder_their_release_is_obsoleted(described, tmp_path):
    built(described, "t@v1", "commercial")
    out = tmp_path / "data"
    result = ipd("pull", "t@v1", "--tier", "commercial", "--from", described.root, "--out", out)
    assert result.exit_code == 0, result.stderr
    datacite = json.loads((out / "datacite.json").read_text())
    assert datacite["identifiers"] == [{"identifier": f"{URN}/releases/v1-commercial", "identifierType": "URN"}]
    assert [r["relationType"] for r in datacite["relatedIdentifiers"]] == ["IsVersionOf", "IsDerivedFrom",
                                                                           "IsDerivedFrom"]
    assert "datacite.json" not in json.loads((out / "ipd-pin.json").read_text())["files"]
    second_version(described)
    state = json.loads(ipd("status", out, "--json").stdout)
    assert "IsObsoletedBy" not in {r["relationType"] for r in state["relations"]}  # v2 has no release yet
    assert state["relations"] == datacite["relatedIdentifiers"]
    built(described, "t@v2", "commercial")
    state = json.loads(ipd("status", out, "--json").stdout)
    assert {"relatedIdentifier": f"{URN}/releases/v2-commercial", "relatedIdentifierType": "URN",
            "relationType": "IsObsoletedBy", "resourceTypeGeneral": "Dataset"} in state["relations"]
    result = ipd("status", out)
    assert result.exit_code == 0, result.stderr
    assert "note: obsoleted by v2-commercial (DataCite IsObsoletedBy)" in result.stdout.splitlines()
    assert ipd("pull", "--upgrade", out).exit_code == 0
    upgraded = json.loads((out / "datacite.json").read_text())
    assert upgraded["identifiers"][0]["identifier"] == f"{URN}/releases/v2-commercial"
    assert [(r["relationType"], r["relatedIdentifier"]) for r in upgraded["relatedIdentifiers"]][-1] == (
        "IsNewVersionOf", f"{URN}/releases/v1-commercial")
    assert "obsoleted" not in ipd("status", out).stdout
