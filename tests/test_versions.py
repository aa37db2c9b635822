"""Versions as a curator and an analyst see them: log, list, show, re-delivery, parts, the Python API."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

import repo
from conftest import ACTG175, git


def _csv(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def actg(tmp_repo):
    tmp_repo.ingest("actg175", ACTG175, "--key", "pidnum", "--arm", "arms", "-m", "first delivery")
    return tmp_repo


def test_ingest_makes_v1_with_tag_record_and_provenance(actg):
    root = actg.root
    assert git(root, "tag", "--list") == "actg175/v1"
    assert git(root, "log", "-1", "--format=%s") == "actg175 v1: first delivery"
    record = json.loads((root / "datasets/actg175/versions/v1.json").read_text())
    assert record["rows"] == 2139 and record["kind"] == "delivery" and record["parent"] is None
    assert record["author"] == "Test Curator <curator@example.org>"
    assert record["delivery"]["file"] == "source/v1/ACTG175.csv"
    assert (root / "datasets/actg175/source/v1/ACTG175.csv").read_bytes() == ACTG175.read_bytes()
    assert (root / "provenance/actg175/v1.json").is_file()
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "rev-list", "-n1", "actg175/v1") == git(root, "rev-parse", "HEAD")


def test_log_json_has_the_promised_fields(actg):
    result = actg.ipd("log", "actg175", "--json")
    assert result.exit_code == 0
    (entry,) = json.loads(result.stdout)
    assert {"version", "fingerprint", "rows", "created", "author", "message"} <= entry.keys()
    assert entry["version"] == "v1" and entry["rows"] == 2139 and entry["message"] == "first delivery"
    assert entry["fingerprint"].startswith("sha256:")


def test_list_and_show(actg):
    listed = json.loads(actg.ipd("list", "--json").stdout)
    assert [(t["trial"], t["latest"], t["versions"], t["rows"]) for t in listed] == [("actg175", "v1", 1, 2139)]
    shown = json.loads(actg.ipd("show", "actg175@v1", "--json").stdout)
    assert shown["roles"] == {"arm": "arms"} and shown["key"] == "pidnum"
    arms = next(c for c in shown["columns"] if c["name"] == "arms")
    assert arms["type"] == "integer"
    assert [(v["value"], v["count"]) for v in arms["values"]] == [(0, 532), (1, 522), (2, 524), (3, 561)]
    age = next(c for c in shown["columns"] if c["name"] == "age")
    assert (age["min"], age["max"], age["missing"]) == (12, 70, 0)
    text = actg.ipd("show", "actg175").stdout
    assert "actg175@v1" in text and "pidnum" in text


def test_redelivery_makes_v2_and_keeps_v1(tmp_repo, tmp_path):
    first = _csv(tmp_path / "d1.csv", {"id": [1, 2, 3], "arm": ["A", "B", "A"], "sbp": [120, 135, 128]})
    second = _csv(tmp_path / "d2.csv", {"id": [1, 2, 3, 4], "arm": ["A", "B", "A", "B"], "sbp": [120, 153, 128, 140]})
    tmp_repo.ingest("t1", first, "--key", "id")
    meta = tmp_repo.root / "datasets/t1/dataset.yaml"
    meta.write_text(meta.read_text().replace("- name: sbp\n", "- name: sbp\n  label: Systolic BP (mmHg)\n"))
    result = tmp_repo.ingest("t1", second)  # the key is remembered
    assert "t1@v2: re-delivery of 4 rows" in result.stdout
    log = json.loads(tmp_repo.ipd("log", "t1", "--json").stdout)
    assert [(e["version"], e["rows"], e["kind"]) for e in log] == [("v1", 3, "delivery"), ("v2", 4, "redelivery")]
    dataset = repo.open(tmp_repo.root).dataset("t1")
    assert dataset.version("v1").to_pandas().sort_values("id")["sbp"].tolist() == [120, 135, 128]
    assert dataset.version("v2").to_pandas().sort_values("id")["sbp"].tolist() == [120, 153, 128, 140]
    metadata = dataset.metadata()
    assert [d["version"] for d in metadata["deliveries"]] == ["v1", "v2"]
    assert next(c for c in metadata["columns"] if c["name"] == "sbp")["label"] == "Systolic BP (mmHg)"
    assert (tmp_repo.root / "datasets/t1/source/v1/d1.csv").is_file()
    assert (tmp_repo.root / "datasets/t1/source/v2/d2.csv").is_file()
    assert json.loads(tmp_repo.ipd("show", "t1@v1", "--json").stdout)["rows"] == 3


def test_parts_split_by_key_and_unchanged_parts_keep_their_bytes(tmp_repo, tmp_path):
    n = 40_000
    rows = {"id": list(range(1, n + 1)), "x": [i % 97 for i in range(n)]}
    tmp_repo.ingest("big", _csv(tmp_path / "big.csv", rows), "--key", "id")
    rows["x"][12_344] = -1  # one participant's value changes in the re-delivery
    tmp_repo.ingest("big", _csv(tmp_path / "big2.csv", rows))
    dataset = repo.open(tmp_repo.root).dataset("big")
    v1, v2 = dataset.version("v1").record, dataset.version("v2").record
    assert v1.nparts == v2.nparts == 4
    assert sum(p.rows for p in v1.parts) == n
    changed = [a.name for a, b in zip(v1.parts, v2.parts) if a.md5 != b.md5]
    assert len(changed) == 1
    part = pq.read_table(tmp_repo.root / "datasets/big/data" / changed[0]).to_pandas()
    assert 12_345 in set(part["id"])
    assert v1.fingerprint != v2.fingerprint


def test_fingerprint_ignores_row_order_and_storage_types(tmp_repo, tmp_path):
    rows = {"id": [3, 1, 2], "w": [70.5, 80.25, None], "s": ["c", "a", "b"]}
    tmp_repo.ingest("a", _csv(tmp_path / "a.csv", rows), "--key", "id")
    frame = pd.DataFrame(rows).sort_values("id").astype({"id": "int32", "w": "float32"})
    frame.to_parquet(tmp_path / "b.parquet", index=False)
    tmp_repo.ingest("b", tmp_path / "b.parquet", "--key", "id")
    log_a = json.loads(tmp_repo.ipd("log", "a", "--json").stdout)[0]
    log_b = json.loads(tmp_repo.ipd("log", "b", "--json").stdout)[0]
    assert log_a["fingerprint"] == log_b["fingerprint"]


def test_python_api(actg):
    version = repo.open(actg.root).dataset("actg175").version("v1")
    table = version.to_arrow()
    assert table.num_rows == 2139 and "pidnum" in table.column_names
    assert version.to_pandas().set_index("pidnum").loc[10056, "age"] == 48
    assert version.duckdb().aggregate("count(*)").fetchall() == [(2139,)]
    version.verify()
    assert repo.open(actg.root / "datasets").dataset("actg175").version().record.version == "v1"


def test_redelivery_must_keep_the_columns_that_have_roles(tmp_repo, tmp_path):
    tmp_repo.ingest("t1", _csv(tmp_path / "a.csv", {"id": [1, 2], "arm": ["A", "B"]}), "--key", "id", "--arm", "arm")
    before = tmp_repo.state()
    result = tmp_repo.ingest("t1", _csv(tmp_path / "b.csv", {"id": [1, 2], "group": ["A", "B"]}), expect=2)
    assert result.stderr.strip() == f"error: {tmp_path / 'b.csv'}: no arm column 'arm'; the columns are id, group"
    assert tmp_repo.state() == before


def test_ingest_commits_only_its_own_files(tmp_repo, tmp_path):
    (tmp_repo.root / "notes.md").write_text("curator's notes\n")
    git(tmp_repo.root, "add", "notes.md")
    tmp_repo.ingest("t1", _csv(tmp_path / "a.csv", {"id": [1, 2]}), "--key", "id")
    assert "notes.md" not in git(tmp_repo.root, "show", "--name-only", "--format=", "HEAD")
    assert git(tmp_repo.root, "status", "--porcelain") == "A  notes.md"
