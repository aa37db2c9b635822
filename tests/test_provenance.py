"""PROV records: every record of a real history (delivery, corrections, re-delivery, release) parsed back
with the prov library, its entities, agents, hashes and relations checked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import prov.model as pm
from conftest import ipd
from support.provenance import CURATOR, TOOL, relations
from support.releases import deliver, synthetic


def read(root: Path, relative: str) -> pm.ProvDocument:
    return pm.ProvDocument.deserialize(content=(root / relative).read_text(), format="json")


def attrs(doc: pm.ProvDocument, ident: str) -> dict[str, object]:
    """The element's attributes, one value each (ours have one)."""
    (element,) = doc.get_record(ident)
    return {str(name): value for name, value in element.attributes}


def elements(doc: pm.ProvDocument, kind: type) -> set[str]:
    return {str(r.identifier) for r in doc.get_records(kind)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_record_parses_back_with_its_relations(history):
    root = history.root
    assert sorted(p.name for p in (root / "provenance/t").iterdir()) == ["v1.json", "v2-noncommercial.json", "v2.json"]

    v1 = read(root, "provenance/t/v1.json")
    delivery_file = json.loads((root / "datasets/t/versions/v1.json").read_text())["delivery"]["file"]
    delivery = f"ipd:t/{delivery_file}"
    v1_check, v1_result = "ipd:check/t/v1", "ipd:t/v1/validation"
    assert elements(v1, pm.ProvEntity) == {"ipd:t/v1", delivery, "ipd:t/expectations.json#v1", v1_result}
    assert elements(v1, pm.ProvActivity) == {"ipd:delivery/t/v1", v1_check}
    assert elements(v1, pm.ProvAgent) == {CURATOR, TOOL}
    assert attrs(v1, delivery)["ipd:sha256"] == sha256(root / "datasets/t" / delivery_file)
    record = json.loads((root / "datasets/t/versions/v1.json").read_text())
    assert attrs(v1, "ipd:t/v1")["ipd:fingerprint"] == record["fingerprint"]
    assert attrs(v1, "ipd:t/v1")["ipd:parts"] == ",".join(f"{p['name']}:{p['md5']}" for p in record["parts"])
    assert "ipd:previousRecordSha256" not in attrs(v1, "ipd:t/v1")
    suite = attrs(v1, "ipd:t/expectations.json#v1")
    assert suite["ipd:path"] == "expectations/t.json"
    assert suite["ipd:sha256"] == hashlib.sha256(
        _at(root, "t/v1", "expectations/t.json").encode()).hexdigest()  # the suite as committed with v1
    checked = json.loads(ipd("check", "t@v1", "--json", "--repo", root).stdout)  # what the ingest's checks found
    assert attrs(v1, v1_result)["ipd:success"] is checked["success"]
    assert attrs(v1, v1_result)["ipd:results"] == len(checked["results"]) > 0
    assert relations(v1, pm.ProvGeneration) == {("ipd:t/v1", "ipd:delivery/t/v1"), (v1_result, v1_check)}
    assert relations(v1, pm.ProvUsage) == {("ipd:delivery/t/v1", delivery), (v1_check, "ipd:t/v1"),
                                           (v1_check, "ipd:t/expectations.json#v1")}
    assert relations(v1, pm.ProvDerivation) == {("ipd:t/v1", delivery)}
    assert relations(v1, pm.ProvAssociation) == {(a, b) for a in ("ipd:delivery/t/v1", v1_check)
                                                 for b in (CURATOR, TOOL)}
    assert relations(v1, pm.ProvAttribution) == {("ipd:t/v1", CURATOR), ("ipd:t/expectations.json#v1", CURATOR)}
    assert relations(v1, "revision") == set()

    v2 = read(root, "provenance/t/v2.json")
    log, check, result = "ipd:t/corrections.jsonl#v2", "ipd:check/t/v2", "ipd:t/v2/validation"
    assert elements(v2, pm.ProvEntity) == {"ipd:t/v2", log, "ipd:t/expectations.json#v2", result}
    assert elements(v2, pm.ProvActivity) == {"ipd:correction/t/v2", check}
    assert attrs(v2, "ipd:correction/t/v2")["ipd:corrections"] == "c1,c2"
    assert attrs(v2, "ipd:t/v2")["ipd:previousRecordSha256"] == sha256(root / "provenance/t/v1.json")
    lines = (root / "datasets/t/corrections.jsonl").read_text().splitlines()
    assert attrs(v2, log)["ipd:entries"] == "c1,c2"
    assert attrs(v2, log)["ipd:entriesSha256"] == \
        f"c1:{hashlib.sha256(lines[0].encode()).hexdigest()},c2:{hashlib.sha256(lines[1].encode()).hexdigest()}"
    checked = json.loads(ipd("check", "t@v2", "--json", "--repo", root).stdout)  # what the commit's checks found
    assert attrs(v2, result)["ipd:success"] is checked["success"] is True
    assert attrs(v2, result)["ipd:results"] == len(checked["results"]) > 0
    assert "ipd:failing" not in attrs(v2, result)
    assert relations(v2, pm.ProvGeneration) == {("ipd:t/v2", "ipd:correction/t/v2"), (result, check)}
    assert relations(v2, pm.ProvUsage) == {("ipd:correction/t/v2", log), ("ipd:correction/t/v2", "ipd:t/v1"),
                                           (check, "ipd:t/v2"), (check, "ipd:t/expectations.json#v2")}
    assert relations(v2, pm.ProvDerivation) == {("ipd:t/v2", log)}
    assert relations(v2, "revision") == {("ipd:t/v2", "ipd:t/v1")}
    assert relations(v2, pm.ProvAssociation) == {(a, b) for a in ("ipd:correction/t/v2", check)
                                                 for b in (CURATOR, TOOL)}

    release = read(root, "provenance/t/v2-noncommercial.json")
    files = json.loads((root / "datasets/t/releases/v2-noncommercial.json").read_text())["files"]
    entity, activity = "ipd:t/releases/v2-noncommercial", "ipd:release/t/v2-noncommercial"
    approval, approver = "ipd:t/releases/approvals/v2.json", "ipd:approver/Dr-Approver"
    assert elements(release, pm.ProvEntity) == {entity, "ipd:t/v2", approval, *(f"{entity}/{f}" for f in files)}
    assert elements(release, pm.ProvAgent) == {CURATOR, approver, TOOL}
    assert attrs(release, "ipd:t/v2")["ipd:provenanceRecordSha256"] == sha256(root / "provenance/t/v2.json")
    assert attrs(release, entity)["ipd:manifestSha256"] == files["manifest.json"]
    assert attrs(release, approval)["ipd:sha256"] == sha256(root / "datasets/t/releases/approvals/v2.json")
    for name, digest in files.items():
        assert attrs(release, f"{entity}/{name}")["ipd:sha256"] == digest
        assert sha256(root / "datasets/t/releases/v2-noncommercial" / name) == digest
    assert relations(release, pm.ProvUsage) == {(activity, "ipd:t/v2"), (activity, approval)}
    assert relations(release, pm.ProvGeneration) == {(entity, activity), *((f"{entity}/{f}", activity) for f in files)}
    assert relations(release, pm.ProvDerivation) == {(entity, "ipd:t/v2")}
    assert relations(release, pm.ProvAssociation) == {(activity, CURATOR), (activity, TOOL)}
    assert relations(release, pm.ProvAttribution) == {(approval, approver), (entity, CURATOR)}
    assert relations(release, pm.ProvMembership) == {(entity, f"{entity}/{f}") for f in files}


def test_a_redelivery_record_names_its_delivery_and_the_version_it_revises(tmp_repo):
    deliver(tmp_repo, synthetic(), "a.parquet")
    deliver(tmp_repo, synthetic(seed=8), "b.parquet")
    v2 = read(tmp_repo.root, "provenance/t/v2.json")
    delivery = "ipd:t/source/v2/b.parquet"
    assert attrs(v2, delivery)["ipd:sha256"] == sha256(tmp_repo.root / "datasets/t/source/v2/b.parquet")
    check, result = "ipd:check/t/v2", "ipd:t/v2/validation"
    assert relations(v2, pm.ProvUsage) == {("ipd:redelivery/t/v2", delivery), (check, "ipd:t/v2"),
                                           (check, "ipd:t/expectations.json#v2")}
    assert relations(v2, pm.ProvDerivation) == {("ipd:t/v2", delivery)}
    assert relations(v2, "revision") == {("ipd:t/v2", "ipd:t/v1")}
    assert attrs(v2, "ipd:t/v2")["ipd:previousRecordSha256"] == sha256(tmp_repo.root / "provenance/t/v1.json")
    assert elements(v2, pm.ProvActivity) == {"ipd:redelivery/t/v2", check}
    # v1's baseline suite checks the re-delivery: what it found is recorded, and the delivery is still taken in
    checked = json.loads(ipd("check", "t@v2", "--json", "--repo", tmp_repo.root).stdout)
    failing = [r["name"] for r in checked["results"] if not r["success"]]
    assert attrs(v2, result)["ipd:success"] is checked["success"]
    assert attrs(v2, result).get("ipd:failing") == (";".join(failing) or None)


def test_a_commit_accepting_failures_records_which_checks_fail(tmp_repo):
    deliver(tmp_repo, synthetic())
    result = ipd("correct", "t", "--key", "100001", "--column", "age", "--value", "150", "--reason", "CRF page 1",
                 "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.output + result.stderr
    result = ipd("commit", "t", "-m", "age from the CRF", "--accept-failures", "the CRF says 150",
                 "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.output + result.stderr
    checked = json.loads(ipd("check", "t@v2", "--json", "--repo", tmp_repo.root).stdout)
    failing = [r["name"] for r in checked["results"] if not r["success"]]
    assert failing == ["expect_column_values_to_be_between(age)"]
    v2 = read(tmp_repo.root, "provenance/t/v2.json")
    assert attrs(v2, "ipd:t/v2/validation") == {
        "prov:type": "ipd:ValidationResult", "ipd:success": False, "ipd:results": len(checked["results"]),
        "ipd:failing": "expect_column_values_to_be_between(age)"}
    assert attrs(v2, "ipd:correction/t/v2")["ipd:acceptedFailures"] == "expect_column_values_to_be_between(age)"
    assert attrs(v2, "ipd:correction/t/v2")["ipd:acceptedBecause"] == "the CRF says 150"


def test_the_example_repositorys_records_parse_back():
    root = Path(__file__).parent.parent
    paths = sorted((root / "provenance").glob("*/*.json"))
    assert {p.relative_to(root).as_posix() for p in paths} >= {
        f"provenance/{trial}/{name}.json" for trial in ("actg175", "gbsg2")
        for name in ("v1", "v1-noncommercial", "v1-commercial")}
    for path in paths:
        doc = read(root, path.relative_to(root).as_posix())
        trial, name = path.parent.name, path.stem
        if "-" not in name:  # a version
            checked = {(f"ipd:{trial}/{name}/validation", f"ipd:check/{trial}/{name}")}  # cut since checks are recorded
            generated = relations(doc, pm.ProvGeneration) - checked
            kind = json.loads((root / f"datasets/{trial}/versions/{name}.json").read_text())["kind"]
            assert generated == {(f"ipd:{trial}/{name}", f"ipd:{kind}/{trial}/{name}")}  # a delivery, or pooled
            continue
        version, tier, *issue = name.split("-")
        released = json.loads((root / f"datasets/{trial}/releases/{name}.json").read_text())
        activity = f"ipd:release/{trial}/{name}"
        files = {f"ipd:{trial}/releases/{name}/{file}" for file in released["files"]}
        assert relations(doc, pm.ProvGeneration) == {(e, activity) for e in {f"ipd:{trial}/releases/{name}", *files}}
        assert relations(doc, "derivation") == {(f"ipd:{trial}/releases/{name}", f"ipd:{trial}/{version}")}
        revises = {(f"ipd:{trial}/releases/{name}", f"ipd:{trial}/releases/{version}-{tier}")} if issue else set()
        assert relations(doc, "revision") == revises  # a reissue revises its first issue
        assert relations(doc, pm.ProvUsage) == {(activity, f"ipd:{trial}/{version}"),
                                                (activity, f"ipd:{trial}/releases/approvals/{version}.json")}
        assert attrs(doc, f"ipd:{trial}/releases/{name}")["ipd:fingerprint"] == released["fingerprint"]


def _at(root: Path, tag: str, path: str) -> str:
    import subprocess

    return subprocess.run(["git", "show", f"{tag}:{path}"], cwd=root, check=True, capture_output=True,
                          text=True).stdout
