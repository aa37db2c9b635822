"""ipd lineage: the chain from a release or version back to the delivery, as text, PROV-JSON, DOT and PNG."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import prov.model as pm
import pydot
import pytest

from conftest import ipd
from support.provenance import CURATOR, TOOL, relations
from support.releases import deliver, one_line, synthetic

EXAMPLE = Path(__file__).parent.parent


def lineage(root: Path, *args: str | Path):
    return ipd("lineage", *args, "--repo", root)


def headings(text: str) -> list[str]:
    """The steps, in order: lines naming a release, approval, version, correction log or delivery."""
    kinds = ("release ", "approval ", "version ", "corrections ", "delivery ")
    return [line for line in text.splitlines() if line.strip().startswith(kinds)]


def test_the_text_goes_from_the_release_back_to_the_delivery(history):
    root = history.root
    result = lineage(root, "t@v2/noncommercial")
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "t@v2/noncommercial: 3 PROV record(s), back to the original delivery"
    assert headings(result.stdout) == [
        "  release t@v2/noncommercial", "  approval releases/approvals/v2.json", "  version t@v2",
        "      corrections corrections.jsonl", "  version t@v1", "      delivery source/v1/t.parquet"]
    assert lines.count("    agents: Test Curator <curator@example.org>, ipd-repo 0.1.0") == 3
    assert "    agents: Dr Approver (approver)" in lines
    assert "    activity: correction, " in result.stdout and "    activity: delivery, " in result.stdout
    assert "    corrections: c1,c2" in lines
    assert "    message: CD4 counts from the CRFs" in lines
    assert any(line.startswith("    checks: passed (") for line in lines)
    delivery = hashlib.sha256((root / "datasets/t/source/v1/t.parquet").read_bytes()).hexdigest()
    assert f"        sha256: {delivery}" in lines
    files = json.loads((root / "datasets/t/releases/v2-noncommercial.json").read_text())["files"]
    assert f"manifest.json {files['manifest.json'][:12]}…" in result.stdout


def test_a_version_alone_and_the_latest(history):
    result = lineage(history.root, "t@v1")
    assert result.exit_code == 0, result.output + result.stderr
    assert headings(result.stdout) == ["  version t@v1", "      delivery source/v1/t.parquet"]
    latest = lineage(history.root, "t")
    assert latest.stdout.splitlines()[0] == "t@v2: 2 PROV record(s), back to the original delivery"


def test_json_is_the_chain_merged_into_one_prov_document(history):
    result = lineage(history.root, "t@v2/noncommercial", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    doc = pm.ProvDocument.deserialize(content=result.stdout, format="json")
    agents = {str(r.identifier) for r in doc.get_records(pm.ProvAgent)}
    assert agents == {CURATOR, TOOL, "ipd:approver/Dr-Approver"}  # one of each, however many records name them
    entities = {str(r.identifier) for r in doc.get_records(pm.ProvEntity)}
    assert {"ipd:t/releases/v2-noncommercial", "ipd:t/v2", "ipd:t/v1", "ipd:t/source/v1/t.parquet",
            "ipd:t/corrections.jsonl#v2", "ipd:t/releases/approvals/v2.json"} <= entities
    (version,) = doc.get_record("ipd:t/v2")
    attributes = {str(k): v for k, v in version.attributes}  # the version and the release's view of it, unified
    assert attributes["ipd:provenanceRecordSha256"] == \
        hashlib.sha256((history.root / "provenance/t/v2.json").read_bytes()).hexdigest()
    assert attributes["ipd:previousRecordSha256"] == \
        hashlib.sha256((history.root / "provenance/t/v1.json").read_bytes()).hexdigest()
    assert relations(doc, "revision") == {("ipd:t/v2", "ipd:t/v1")}
    assert ("ipd:t/releases/v2-noncommercial", "ipd:t/v2") in relations(doc, pm.ProvDerivation)
    assert ("ipd:t/v1", "ipd:t/source/v1/t.parquet") in relations(doc, pm.ProvDerivation)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:pydot.*")  # pydot's parser uses old pyparsing names
def test_dot_is_graphviz_text_of_the_chain(history):
    result = lineage(history.root, "t@v2", "--dot")
    assert result.exit_code == 0, result.output + result.stderr
    (graph,) = pydot.graph_from_dot_data(result.stdout)
    labels = {n.get_label().strip('"') for n in graph.get_nodes()
              if n.get_label() and not n.get_name().startswith("ann")}  # annotations are tables of attributes
    assert {"ipd:t/v2", "ipd:t/v1", "ipd:correction/t/v2", "ipd:delivery/t/v1", "ipd:t/source/v1/t.parquet"} <= labels


def test_png_is_a_picture(history, tmp_path):
    picture = tmp_path / "chain.png"
    result = lineage(history.root, "t@v2/noncommercial", "--png", picture)
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout.strip() == f"drew the lineage of t@v2/noncommercial (3 PROV records) into {picture}"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    height, width, _ = matplotlib.image.imread(picture).shape
    assert width > 600 and height > 300
    assert one_line(lineage(history.root, "t@v1", "--png", tmp_path / "chain.svg")) == \
        f"{tmp_path / 'chain.svg'}: the picture is a PNG; name the file *.png"


@pytest.mark.parametrize("ref, message", [
    ("nope@v1", "no trial 'nope' in {root} (see `ipd list`)"),
    ("t@v3", "t has no version v3: datasets/t/versions/v3.json does not exist"),
    ("t@v1/nonprofit", "unknown tier 'nonprofit' in 't@v1/nonprofit'; choose noncommercial or commercial"),
    ("t@v1/commercial", "t@v1 has no commercial release: provenance/t/v1-commercial.json does not exist"),
    ("t/commercial", "invalid reference 't/commercial': a release is TRIAL@vN/TIER"),
    ("t@2", "invalid version '2': versions are named v1, v2, …"),
])
def test_a_bad_reference_is_one_line(tmp_repo, ref, message):
    deliver(tmp_repo, synthetic(50))
    assert one_line(lineage(tmp_repo.root, ref)) == message.format(root=tmp_repo.root)


def test_a_missing_record_is_named(tmp_repo):
    deliver(tmp_repo, synthetic(50), "a.parquet")
    deliver(tmp_repo, synthetic(50, seed=3), "b.parquet")
    (tmp_repo.root / "provenance/t/v1.json").unlink()
    assert one_line(lineage(tmp_repo.root, "t@v2")) == "t@v1 has no PROV record: provenance/t/v1.json does not exist"
    (tmp_repo.root / "provenance/t/v2.json").write_text("{not json")
    assert one_line(lineage(tmp_repo.root, "t@v2"), 1).startswith("provenance/t/v2.json is not a PROV-JSON record (")
    assert one_line(lineage(tmp_repo.root, "t@v2", "--json", "--dot")) == \
        "--json and --dot both write to standard output: choose one"


@pytest.mark.parametrize("trial", ["actg175", "gbsg2"])
def test_the_example_repository(trial):
    """Its records were written before the suite and the checks were recorded: still a whole chain."""
    result = lineage(EXAMPLE, f"{trial}@v1")
    assert result.exit_code == 0, result.output + result.stderr
    record = json.loads((EXAMPLE / f"datasets/{trial}/versions/v1.json").read_text())
    delivery = record["delivery"]
    assert headings(result.stdout) == [f"  version {trial}@v1", f"      delivery {delivery['file']}"]
    assert f"        sha256: {delivery['sha256']}" in result.stdout.splitlines()
    assert f"        origin: {delivery['origin']}" in result.stdout.splitlines()
    doc = pm.ProvDocument.deserialize(content=lineage(EXAMPLE, f"{trial}@v1", "--json").stdout, format="json")
    assert relations(doc, pm.ProvDerivation) == {(f"ipd:{trial}/v1", f"ipd:{trial}/{delivery['file']}")}


def test_version_records_that_go_round_in_a_circle_are_refused(tmp_repo):
    deliver(tmp_repo, synthetic(50))
    path = tmp_repo.root / "datasets/t/versions/v1.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "parent": "v1"}))
    assert one_line(lineage(tmp_repo.root, "t@v1"), 1) == "the version records of t go round in a circle at v1"
