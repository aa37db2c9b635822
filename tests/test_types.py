"""Codes delivered as doubles (R, SAS and SPSS write PBC's arm as 1.0/2.0) are stored as integers, low-cardinality
numbers get value sets, corrections to such codes must be whole numbers, and versions cut before this (reader 1)
still rebuild byte for byte: real PBC from R's survival package in a real repository (git, DVC, Parquet)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

import repo
from conftest import TmpRepo, one_line_error, own_home
from repo.backends import formats
from repo.backends.formats import whole_numbers_as_integers
from repo.errors import InvalidInput
from repo.ingest.dictionary import _value_set
from repo.repository.records import VersionRecord
from support.cli import git, ipd

PBC = Path(__file__).parent / "data" / "real" / "pbc.csv"


def ok(result) -> str:
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def pbc(tmp_path_factory) -> TmpRepo:
    """PBC ingested now (reader 2), a correction of an arm committed on it as v2, and the same delivery as
    ``old``, cut as ipd cut versions before readers existed: read as typed, its record without ``reader``."""
    base = tmp_path_factory.mktemp("types")
    with own_home(base / "home"):
        root = base / "repo"
        ok(ipd("init", root, "--remote", base / "remote"))
        ok(ipd("ingest", "pbc", PBC, "--key", "id", "--arm", "trt", "--repo", root))
        ok(ipd("correct", "pbc", "--key", "1", "--column", "trt", "--value", "2", "--reason", "CRF", "--repo", root))
        ok(ipd("commit", "pbc", "-m", "arm from the CRF", "--repo", root))
        with pytest.MonkeyPatch.context() as patch:
            as_written = VersionRecord.to_json

            def without_reader(record: VersionRecord) -> str:
                fields = json.loads(as_written(record))
                del fields["reader"]
                return json.dumps(fields, indent=2, ensure_ascii=False) + "\n"

            patch.setattr(formats, "READER", 1)
            patch.setattr(VersionRecord, "to_json", without_reader)
            ok(ipd("ingest", "old", PBC, "--key", "id", "--arm", "trt", "--repo", root))
    return TmpRepo(root, base / "remote")


def dictionary(root: Path, trial: str) -> dict[str, dict]:
    metadata = yaml.safe_load((root / f"datasets/{trial}/dataset.yaml").read_text())
    return {c["name"]: c for c in metadata["columns"]}


def suite(root: Path, trial: str) -> dict[str, dict[str, dict]]:
    """Column -> expectation type -> its kwargs, from the baseline suite ingest wrote."""
    found: dict[str, dict[str, dict]] = {}
    for expectation in json.loads((root / f"expectations/{trial}.json").read_text())["expectations"]:
        kwargs = expectation["kwargs"]
        if "column" in kwargs:
            found.setdefault(kwargs["column"], {})[expectation["type"]] = kwargs
    return found


def record(root: Path, trial: str, version: str) -> dict:
    return json.loads((root / f"datasets/{trial}/versions/{version}.json").read_text())


# -- ingest -------------------------------------------------------------------------------------------------------


def test_codes_written_as_doubles_are_stored_as_integers(pbc):
    source = pd.read_csv(PBC)
    assert source["trt"].dtype == "float64" and set(source["trt"].dropna()) == {1.0, 2.0}  # as R wrote them
    table = repo.open(pbc.root).dataset("pbc").version("v1").to_arrow()
    assert table.schema.field("trt").type == pa.int64()
    assert sorted(set(table.column("trt").drop_null().to_pylist())) == [1, 2]
    assert table.column("trt").null_count == int(source["trt"].isna().sum()) == 106  # not randomised
    # stage 1-4, the 0/1 flags, and chol, copper, trig and platelet (whole units, integers in R too)
    whole = {f.name for f in table.schema if f.type == pa.int64()}
    assert whole == {"id", "time", "status", "trt", "ascites", "hepato", "spiders", "chol", "copper", "trig",
                     "platelet", "stage"}
    # a column with a fraction stays a double, values as delivered
    assert table.schema.field("edema").type == pa.float64()
    assert sorted(set(table.column("edema").to_pylist())) == [0.0, 0.5, 1.0]
    assert record(pbc.root, "pbc", "v1")["reader"] == formats.READER == 2


def test_few_codes_have_a_value_set_and_measurements_a_range(pbc):
    columns, checks = dictionary(pbc.root, "pbc"), suite(pbc.root, "pbc")
    source = pd.read_csv(PBC)
    stage = source["stage"].value_counts().sort_index()
    assert columns["stage"]["type"] == "integer"
    assert columns["stage"]["values"] == [{"value": int(v), "count": int(n)} for v, n in stage.items()]
    assert checks["stage"]["expect_column_values_to_be_in_set"]["value_set"] == [1, 2, 3, 4]
    assert "expect_column_values_to_be_between" not in checks["stage"]
    # edema's 0, 0.5 and 1 are few: a value set of numbers, not a range that would pass 0.7
    edema = source["edema"].value_counts().sort_index()
    assert columns["edema"]["type"] == "number"
    assert columns["edema"]["values"] == [{"value": v, "count": int(n)} for v, n in edema.items()]
    assert [type(v["value"]) for v in columns["edema"]["values"]] == [float] * 3
    assert checks["edema"]["expect_column_values_to_be_in_set"]["value_set"] == [0.0, 0.5, 1.0]
    # measurements keep a range: chol in whole mg/dl (now an integer), bili with its fractions (a number)
    for name, kind in (("chol", "integer"), ("bili", "number")):
        values = source[name].dropna()
        assert values.nunique() > 12
        assert columns[name]["type"] == kind and "values" not in columns[name]
        assert (columns[name]["min"], columns[name]["max"]) == (values.min(), values.max())
        between = checks[name]["expect_column_values_to_be_between"]
        assert (between["min_value"], between["max_value"]) == (values.min(), values.max())
        assert "expect_column_values_to_be_in_set" not in checks[name]


def test_a_pulled_copy_has_the_arm_as_an_integer(pbc, tmp_path):
    ok(ipd("pull", "pbc@v1", "--from", pbc.root, "--out", tmp_path / "csv", "--format", "csv"))
    pulled = pd.read_csv(tmp_path / "csv" / "pbc.csv", dtype=str, keep_default_na=False)
    assert set(pulled["trt"]) == {"1", "2", ""} and set(pulled["stage"]) == {"1", "2", "3", "4", ""}
    arm = yaml.safe_load((tmp_path / "csv" / "pbc.dataset.yaml").read_text())
    assert [c for c in arm["columns"] if c["name"] == "trt"] == [
        {"name": "trt", "type": "integer", "missing": 106, "distinct": 2, "min": 1, "max": 2,
         "values": [{"value": 1, "count": 158}, {"value": 2, "count": 154}]}]
    assert pd.read_csv(PBC)["trt"].value_counts().to_dict() == {1.0: 158, 2.0: 154}  # counted here
    ok(ipd("pull", "pbc@v1", "--from", pbc.root, "--out", tmp_path / "parquet", "--format", "parquet"))
    pulled = pq.read_table(tmp_path / "parquet" / "pbc.parquet")
    assert pulled.schema.field("trt").type == pa.int64() and pulled.schema.field("edema").type == pa.float64()


# -- corrections ----------------------------------------------------------------------------------------------------


def test_a_fraction_for_an_integer_column_is_refused_and_nothing_is_written(pbc):
    before = pbc.state()
    result = ipd("correct", "pbc", "--key", "1", "--column", "trt", "--value", "1.5", "--reason", "CRF",
                 "--repo", pbc.root)
    assert result.exit_code == 2
    assert one_line_error(result.stderr) == "error: column trt: '1.5' is not a valid integer value"
    assert git(pbc.root, "rev-parse", "HEAD") == before["head"]
    assert git(pbc.root, "status", "--porcelain") == ""
    assert pbc.state() == before


def test_a_fraction_for_an_integer_column_in_records_to_add_is_refused(pbc, tmp_path):
    """Arrow would truncate 250.5 to 250 when the record is applied: the staging check says so instead."""
    row = pd.read_csv(PBC).head(1).assign(id=9999, chol=250.5)
    pq.write_table(pa.Table.from_pandas(row, preserve_index=False), tmp_path / "new.parquet")
    before = pbc.state()
    result = ipd("correct", "pbc", "--add", tmp_path / "new.parquet", "--reason", "late registration",
                 "--repo", pbc.root)
    assert result.exit_code == 2
    assert one_line_error(result.stderr) == \
        f"error: {tmp_path / 'new.parquet'}, row 1: column chol: 250.5 is not a valid integer value"
    assert pbc.state() == before


def test_a_correction_to_a_whole_number_is_an_integer(pbc):
    corrected = repo.open(pbc.root).dataset("pbc").version("v2").to_arrow()
    assert corrected.schema.field("trt").type == pa.int64()
    assert corrected.filter(pc.equal(corrected["id"], 1))["trt"].to_pylist() == [2]
    assert pd.read_csv(PBC).loc[0, ["id", "trt"]].tolist() == [1, 1.0]  # it was 1 as delivered


# -- rebuilding ----------------------------------------------------------------------------------------------------


def test_versions_rebuild_with_the_reader_their_record_names(pbc):
    old = record(pbc.root, "old", "v1")
    assert "reader" not in old  # as every record written before readers: reader 1
    assert repo.open(pbc.root).dataset("old").version("v1").record.reader == 1
    table = repo.open(pbc.root).dataset("old").version("v1").to_arrow()
    assert table.schema.field("trt").type == pa.float64()  # read as typed
    # the same delivery, so only the reader tells the two apart: rebuilding either with the other's would fail
    assert old["delivery"]["sha256"] == record(pbc.root, "pbc", "v1")["delivery"]["sha256"]
    assert old["fingerprint"] != record(pbc.root, "pbc", "v1")["fingerprint"]
    assert record(pbc.root, "pbc", "v2")["reader"] == 2

    result = ipd("verify", "--rebuild", "--repo", pbc.root, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["problems"] == []
    assert json.loads(result.stdout)["trials"] == ["old", "pbc"]


def test_a_reader_newer_than_ipd_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,arm\n1,1.0\n2,2.0\n")
    with pytest.raises(InvalidInput, match=r"read by reader 3, and this ipd knows readers 1 to 2: upgrade ipd"):
        formats.read(path, 3)
    assert formats.read(path, 1).table.schema.field("arm").type == pa.float64()
    assert formats.read(path, 2).table.schema.field("arm").type == pa.int64()


# -- the converter ------------------------------------------------------------------------------------------------


def converted(**columns: list) -> pa.Table:
    """Columns of doubles, converted."""
    doubles = {name: pa.array(values, pa.float64()) for name, values in columns.items()}
    return whole_numbers_as_integers(pa.table(doubles))


def test_whole_numbers_become_integers_nulls_and_all():
    table = converted(arm=[1.0, 2.0, 2.0], flag=[0.0, None, 1.0], negative=[-3.0, -0.0, 12.0])
    assert table.schema == pa.schema([("arm", pa.int64()), ("flag", pa.int64()), ("negative", pa.int64())])
    assert table.to_pydict() == {"arm": [1, 2, 2], "flag": [0, None, 1], "negative": [-3, 0, 12]}


def test_columns_with_a_fraction_or_no_whole_number_stay_as_they_are():
    columns = {"edema": [0.0, 0.5, 1.0], "nan": [1.0, math.nan, 2.0], "all_nan": [math.nan, math.nan, math.nan],
               "empty": [None, None, None], "infinite": [1.0, math.inf, 2.0]}
    table = converted(**columns)
    assert all(field.type == pa.float64() for field in table.schema)
    assert table.column("edema").to_pylist() == [0.0, 0.5, 1.0]
    assert math.isnan(table.column("nan")[1].as_py()) and table.column("empty").null_count == 3


def test_whole_numbers_beyond_int64_stay_doubles():
    low, high = float(-(2**63)), float(2**63)  # int64 holds -2**63 but not 2**63
    assert converted(big=[1.0, high], huge=[1e19, 2.0]).schema.types == [pa.float64(), pa.float64()]
    assert converted(lowest=[low, 0.0]).column("lowest").to_pylist() == [-(2**63), 0]
    assert converted(near=[2.0**62, 1.0]).column("near").to_pylist() == [2**62, 1]


def test_other_types_and_chunks():
    table = pa.table({"n": pa.chunked_array([[1.0, 2.0], [None, 4.0]]),
                      "f32": pa.array([1.0, 3.0, 5.0, 7.0], pa.float32()),
                      "f16": pa.array(np.array([1, 2, 3, 4], np.float16)),
                      "i": pa.array([1, 2, 3, 4], pa.int32()), "s": ["1.0", "2.0", "3.0", "4.0"]})
    out = whole_numbers_as_integers(table.slice(0, 2))
    assert out.schema == pa.schema([("n", pa.int64()), ("f32", pa.int64()), ("f16", pa.float16()),
                                    ("i", pa.int32()), ("s", pa.string())])
    assert whole_numbers_as_integers(table).column("n").to_pylist() == [1, 2, None, 4]
    assert whole_numbers_as_integers(table.slice(0, 0)).schema == table.schema  # no rows: nothing to decide on


def test_value_labels_keyed_by_doubles_label_the_integers():
    """SAS and SPSS give value labels keyed by doubles (1.0: "Placebo"); the codes are integers once stored."""
    labels = {1.0: "Placebo", 2.0: "Active"}
    assert _value_set([(1, 4), (2, 2)], labels) == [{"value": 1, "count": 4, "label": "Placebo"},
                                                     {"value": 2, "count": 2, "label": "Active"}]
