"""Every delivery format in, every export format out, as a curator and a requestor see them.

One small labelled trial (six participants, delivered out of key order) is written in each
format by the test itself; only the SAS binary file is a committed fixture (pyreadstat cannot
write .sas7bdat; see tests/data/README.md for how it was made).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyreadstat
import pytest
import yaml

import repo
from conftest import DATA
from repo.backends import formats
from repo.backends.columns import type_class

# -- the trial ----------------------------------------------------------------------

COLUMNS = ["pid", "arm", "weight", "site", "randdate"]
# As delivered: not in key order. Participant 103's weight and 105's randomisation date are missing.
DELIVERED = [
    (104, 2, 65.0, "Lyon", dt.date(2021, 4, 2)),
    (101, 1, 72.5, "Leeds", dt.date(2021, 3, 1)),
    (106, 1, 58.5, "Leeds", dt.date(2021, 5, 11)),
    (103, 1, None, "Leeds", dt.date(2021, 3, 22)),
    (102, 2, 80.25, "Oslo", dt.date(2021, 3, 15)),
    (105, 1, 91.75, "Oslo", None),
]
EXPECTED = sorted(DELIVERED)
LABELS = {"pid": "Participant ID", "arm": "Randomised arm", "weight": "Weight at entry (kg)",
          "site": "Study site", "randdate": "Date of randomisation"}
ARM_LABELS = {1: "Placebo", 2: "Active"}
FILE_LABEL = "Labelled example trial"
SAS_EPOCH = dt.date(1960, 1, 1)


def frame() -> pd.DataFrame:
    """The delivery as a data frame; whole-number columns as Int32, which Stata stores as "long"."""
    data = pd.DataFrame(DELIVERED, columns=COLUMNS)
    for name in ("pid", "arm"):
        data[name] = data[name].astype("Int32")
    return data


def write_delivery(path: Path) -> Path:
    """Write the trial as ``path``'s format, with the labels the format can hold."""
    data, fmt = frame(), path.suffix.lstrip(".")
    labels = [LABELS[c] for c in COLUMNS]
    if fmt in ("csv", "tsv"):
        data.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",")
    elif fmt == "xlsx":
        data.to_excel(path, index=False, engine="openpyxl")
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path)  # pid, arm as int32
    elif fmt == "xpt":  # SAS transport holds no value labels (they live in a separate format catalog)
        pyreadstat.write_xport(data, str(path), file_label=FILE_LABEL, column_labels=labels, table_name="TRIAL")
    elif fmt == "dta":
        pyreadstat.write_dta(data, str(path), file_label=FILE_LABEL, column_labels=labels,
                             variable_value_labels={"arm": ARM_LABELS})
    elif fmt == "sav":
        pyreadstat.write_sav(data, str(path), file_label=FILE_LABEL, column_labels=labels,
                             variable_value_labels={"arm": ARM_LABELS})
    else:
        raise ValueError(fmt)
    return path


# -- what each format gives ---------------------------------------------------------

INTEGERS = {"pid": "integer", "arm": "integer", "weight": "number", "site": "string", "randdate": "date"}
# SPSS and SAS have one numeric type, the 8-byte double: whole numbers come back as numbers (as pyreadstat
# reads an export). ipd stores a double column of whole numbers as integers, so it ingests them as INTEGERS.
DOUBLES = {**INTEGERS, "pid": "number", "arm": "number"}
# A SAS date is a number of days since 1960 that a date format (DATE9. …) displays as a date. readstat
# 1.1.8 does not carry formats across a conversion ("TODO format translation" in its mod_readstat.c),
# so the fixture's randdate has no format: SAS itself would show it as a number of days, and ipd stores
# those whole numbers as integers.
SAS_BINARY = {**INTEGERS, "randdate": "integer"}


@dataclass(frozen=True)
class Delivery:
    suffix: str
    format: str  # as dataset.yaml records it
    types: dict[str, str]
    labelled: bool = False  # variable labels and a file label
    value_labels: bool = False  # the arm's 1 = Placebo, 2 = Active

    def path(self, tmp_path: Path) -> Path:
        if self.suffix == ".sas7bdat":
            return DATA / "labelled.sas7bdat"
        return write_delivery(tmp_path / f"labelled{self.suffix}")


DELIVERIES = {
    "csv": Delivery(".csv", "csv", INTEGERS),
    "tsv": Delivery(".tsv", "tsv", INTEGERS),
    "xlsx": Delivery(".xlsx", "excel", INTEGERS),
    "parquet": Delivery(".parquet", "parquet", INTEGERS),
    "sas7bdat": Delivery(".sas7bdat", "sas7bdat", SAS_BINARY, labelled=True),
    "xpt": Delivery(".xpt", "xpt", INTEGERS, labelled=True),
    "dta": Delivery(".dta", "dta", INTEGERS, labelled=True, value_labels=True),
    "sav": Delivery(".sav", "sav", INTEGERS, labelled=True, value_labels=True),
}


def expected_rows(types: dict[str, str]) -> list[tuple]:
    def value(column: str, v):
        if v is None:
            return None
        if column == "randdate" and types[column] != "date":
            return whole((v - SAS_EPOCH).days, column)
        if types[column] == "number" and column != "weight":
            return float(v)
        return v

    def whole(n: int, column: str) -> int | float:
        return n if types[column] == "integer" else float(n)

    return [tuple(value(c, v) for c, v in zip(COLUMNS, row)) for row in EXPECTED]


def expected_dictionary(delivery: Delivery) -> list[dict]:
    types = delivery.types

    def whole(n: int, column: str) -> int | float:
        return n if types[column] == "integer" else float(n)

    arm_values = [{"value": whole(1, "arm"), "count": 4}, {"value": whole(2, "arm"), "count": 2}]
    if delivery.value_labels:  # SPSS keys them by the doubles 1.0 and 2.0; they label the integers 1 and 2
        for entry in arm_values:
            entry["label"] = ARM_LABELS[int(entry["value"])]
    # Five weights among six rows are few enough for a value set (at most 12 distinct, fewer than the rows).
    weights = sorted(row[2] for row in DELIVERED if row[2] is not None)
    days = sorted((row[4] - SAS_EPOCH).days for row in DELIVERED if row[4] is not None)
    randdate = {"min": "2021-03-01", "max": "2021-05-11"} if types["randdate"] == "date" else {
        "min": whole(days[0], "randdate"), "max": whole(days[-1], "randdate"),
        # days as integers (the SAS binary file's) are few enough for a value set too
        "values": [{"value": whole(d, "randdate"), "count": 1} for d in days]}
    columns = [
        {"name": "pid", "type": types["pid"], "missing": 0, "distinct": 6,
         "min": whole(101, "pid"), "max": whole(106, "pid")},
        {"name": "arm", "type": types["arm"], "missing": 0, "distinct": 2, "min": whole(1, "arm"),
         "max": whole(2, "arm"), "values": arm_values},
        {"name": "weight", "type": "number", "missing": 1, "distinct": 5, "min": 58.5, "max": 91.75,
         "values": [{"value": w, "count": 1} for w in weights]},
        {"name": "site", "type": "string", "missing": 0, "distinct": 3,
         "values": [{"value": "Leeds", "count": 3}, {"value": "Lyon", "count": 1}, {"value": "Oslo", "count": 2}]},
        {"name": "randdate", "type": types["randdate"], "missing": 1, "distinct": 5, **randdate},
    ]
    if delivery.labelled:
        for column in columns:
            column["label"] = LABELS[column["name"]]
    return columns


def exact(value) -> str:
    """Compare as JSON so that 101 and 101.0 (integer and number in dataset.yaml) differ."""
    return json.dumps(value, sort_keys=True)


def rows_of(data: pd.DataFrame) -> list[tuple]:
    """Rows sorted by key, every kind of missing value as None."""
    data = data.sort_values("pid")
    return [tuple(None if pd.isna(v) else v for v in row) for row in data[COLUMNS].itertuples(index=False)]


def check_dtypes(data: pd.DataFrame, types: dict[str, str]) -> None:
    kinds = {"integer": "i", "number": "f", "string": "O", "date": "O"}
    assert {c: data[c].dtype.kind for c in COLUMNS} == {c: kinds[t] for c, t in types.items()}
    for column, kind in types.items():
        if kind == "date":  # dates, not date-times or strings
            assert {type(v) for v in data[column] if not pd.isna(v)} == {dt.date}, column


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def metadata(root: Path, trial: str) -> dict:
    return yaml.safe_load((root / "datasets" / trial / "dataset.yaml").read_text())


def fingerprint(root: Path, trial: str) -> str:
    return repo.open(root).dataset(trial).version("v1").record.fingerprint


# -- ingest -------------------------------------------------------------------------


@pytest.mark.parametrize("name", DELIVERIES)
def test_ingest_reads_each_format(tmp_repo, tmp_path, name):
    delivery = DELIVERIES[name]
    path = delivery.path(tmp_path)
    tmp_repo.ingest("trial", path, "--key", "pid", "--arm", "arm")
    root = tmp_repo.root

    table = repo.open(root).dataset("trial").version("v1").to_arrow()
    assert rows_of(table.to_pandas()) == expected_rows(delivery.types)
    # As stored (pandas shows the SAS file's randdate, integers with a gap, as floats)
    assert {f.name: type_class(f.type) for f in table.schema} == delivery.types

    meta = metadata(root, "trial")
    assert exact(meta["columns"]) == exact(expected_dictionary(delivery))
    assert meta["key"] == "pid" and meta["roles"] == {"arm": "arm"}
    assert meta.get("title") == (FILE_LABEL if delivery.labelled else None)

    kept = root / "datasets" / "trial" / "source" / "v1" / path.name
    assert sha256(kept) == sha256(path)
    [received] = meta["deliveries"]
    assert {k: received[k] for k in ("file", "original_name", "format", "sha256", "size")} == {
        "file": f"source/v1/{path.name}", "original_name": path.name, "format": delivery.format,
        "sha256": sha256(path), "size": path.stat().st_size,
    }


def test_the_same_rows_give_the_same_fingerprint_when_the_types_agree(tmp_repo, tmp_path):
    for name, delivery in DELIVERIES.items():
        tmp_repo.ingest(name, delivery.path(tmp_path), "--key", "pid")
    # The SPSS rows again, as Parquet with pid and arm stored as doubles.
    doubles = pa.Table.from_pandas(frame().astype({"pid": "float64", "arm": "float64"}), preserve_index=False)
    pq.write_table(doubles, tmp_path / "doubles.parquet")
    tmp_repo.ingest("doubles", tmp_path / "doubles.parquet", "--key", "pid")
    prints = {name: fingerprint(tmp_repo.root, name) for name in [*DELIVERIES, "doubles"]}

    # Integers (int32 in the Parquet file, "long" in the Stata file, int64 from CSV and Excel, doubles of
    # whole numbers in SPSS, SAS transport and the Parquet file of doubles, stored as integers), doubles and
    # dates: one fingerprint, however the format stores them.
    assert len({prints[n] for n in ("csv", "tsv", "xlsx", "parquet", "dta", "sav", "xpt", "doubles")}) == 1
    # The SAS binary file's randdate is a number of days (no date format): another logical type.
    assert prints["sas7bdat"] != prints["csv"]


def test_whole_numbers_with_a_gap_stay_integers(tmp_repo, tmp_path):
    """An age with one missing value is an integer in every format that has integers."""
    ages = pd.DataFrame({"pid": [1, 2, 3], "age": pd.array([54, None, 47], dtype="Int32")})
    ages.to_csv(tmp_path / "ages.csv", index=False)
    ages.to_excel(tmp_path / "ages.xlsx", index=False, engine="openpyxl")
    pq.write_table(pa.Table.from_pandas(ages, preserve_index=False), tmp_path / "ages.parquet")
    pyreadstat.write_dta(ages, str(tmp_path / "ages.dta"))  # Stata "long", with a missing value
    for suffix in ("csv", "xlsx", "parquet", "dta"):
        tmp_repo.ingest(suffix, tmp_path / f"ages.{suffix}", "--key", "pid")
        age = metadata(tmp_repo.root, suffix)["columns"][1]
        assert exact([age["type"], age["missing"], age["min"], age["max"]]) == exact(["integer", 1, 47, 54]), suffix
        table = repo.open(tmp_repo.root).dataset(suffix).version("v1").to_arrow()
        assert table.column("age").to_pylist() == [54, None, 47], suffix


# -- pull ---------------------------------------------------------------------------

def read_export(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The exported rows, and the variable labels the file carries."""
    fmt = path.suffix.lstrip(".")
    if fmt == "parquet":
        return pq.read_table(path).to_pandas(), {}
    if fmt == "csv":
        return pacsv.read_csv(path).to_pandas(), {}
    reader = {"xpt": pyreadstat.read_xport, "dta": pyreadstat.read_dta, "sav": pyreadstat.read_sav}[fmt]
    data, meta = reader(str(path))
    return data, meta.column_names_to_labels


# What each export gives back; Stata keeps whole numbers as "long", SPSS and SAS only have doubles.
EXPORTS = {"parquet": INTEGERS, "csv": INTEGERS, "xpt": DOUBLES, "dta": INTEGERS, "sav": DOUBLES}


@pytest.mark.parametrize("fmt", EXPORTS)
def test_pull_writes_each_format(tmp_repo, tmp_path, fmt):
    tmp_repo.ingest("trial", write_delivery(tmp_path / "labelled.dta"), "--key", "pid")
    out = tmp_path / "pulled"
    result = tmp_repo.ipd("pull", "trial@v1", "--from", tmp_repo.root, "--out", out, "--format", fmt)
    assert result.exit_code == 0, result.output + result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([f"trial.{fmt}", "trial.dataset.yaml", "ipd-pin.json"])

    data, labels = read_export(out / f"trial.{fmt}")
    assert list(data.columns) == COLUMNS
    assert rows_of(data) == expected_rows(EXPORTS[fmt])
    # pyreadstat gives a Stata "long" column with a gap as objects; this one has none.
    check_dtypes(data, EXPORTS[fmt])
    assert labels == ({} if fmt in ("parquet", "csv") else LABELS)

    # Taken in again, the export is the version it came from: SPSS and SAS hold its integers as doubles of
    # whole numbers, which ipd stores as integers again.
    tmp_repo.ingest("again", out / f"trial.{fmt}", "--key", "pid")
    assert [c["type"] for c in metadata(tmp_repo.root, "again")["columns"]] == list(INTEGERS.values())
    assert fingerprint(tmp_repo.root, "again") == fingerprint(tmp_repo.root, "trial")


def test_every_format_is_covered():
    assert {d.format for d in DELIVERIES.values()} == set(formats.READERS.values())
    assert tuple(EXPORTS) == formats.EXPORTS


@pytest.mark.parametrize("fmt, reader", [("xpt", pyreadstat.read_xport), ("dta", pyreadstat.read_dta),
                                         ("sav", pyreadstat.read_sav)])
def test_r_names_are_written_as_statistical_packages_accept_them(tmp_repo, tmp_path, fmt, reader):
    """UDCA as R exports it: dotted names (``entry.dt``) become ``entry_dt``, the label keeps the name."""
    tmp_repo.ingest("udca", DATA / "real" / "udca.csv", "--key", "id")
    out = tmp_path / "out"
    result = tmp_repo.ipd("pull", "udca@v1", "--from", tmp_repo.root, "--out", out, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    frame, meta = reader(str(out / f"udca.{fmt}"))
    assert list(frame.columns) == UDCA_NAMES[fmt]
    labels = dict(zip(meta.column_names, meta.column_labels))
    assert labels["entry_dt"].startswith("entry.dt") and labels["bili"] in (None, "", "bili")
    assert labels[UDCA_NAMES[fmt][9]] == "hprogress.dt"
    assert len(frame) == 170


UDCA_NAMES = {  # SAS transport version 5 takes eight characters; Stata and SPSS 32 and more
    "xpt": ["id", "trt", "entry_dt", "last_dt", "stage", "bili", "riskscor", "death_dt", "tx_dt", "hprogres",
            "varices", "ascites", "enceph_d", "double_d", "worsen_d"],
    **dict.fromkeys(("dta", "sav"), ["id", "trt", "entry_dt", "last_dt", "stage", "bili", "riskscore", "death_dt",
                                     "tx_dt", "hprogress_dt", "varices_dt", "ascites_dt", "enceph_dt", "double_dt",
                                     "worsen_dt"]),
}


def test_export_names_are_valid_in_each_format_and_unique():
    names = ["alk.phos", "1st", "a b", "A_B", "x" * 40, "x" * 40 + ".y", "str2", "by", "_x", "élan"]
    assert formats.export_names(names, "xpt8") == {  # as release packages of format 3 were written
        "alk.phos": "alk_phos", "1st": "_1st", "a b": "a_b", "A_B": "A_B_2", "x" * 40: "x" * 32,
        "x" * 40 + ".y": "x" * 29 + "_2", "str2": "str2", "by": "by", "_x": "_x", "élan": "_lan"}
    assert formats.export_names(names, "xpt") == {
        "alk.phos": "alk_phos", "1st": "_1st", "a b": "a_b", "A_B": "A_B_2", "x" * 40: "x" * 8,
        "x" * 40 + ".y": "x" * 5 + "_2", "str2": "str2", "by": "by", "_x": "_x", "élan": "_lan"}
    assert formats.export_names(names, "dta") == {
        "alk.phos": "alk_phos", "1st": "_1st", "a b": "a_b", "A_B": "A_B_2", "x" * 40: "x" * 32,
        "x" * 40 + ".y": "x" * 29 + "_2", "str2": "str2_", "by": "by", "_x": "_x", "élan": "_lan"}
    assert formats.export_names(names, "sav") == {
        "alk.phos": "alk_phos", "1st": "v1st", "a b": "a_b", "A_B": "A_B_2", "x" * 40: "x" * 40,
        "x" * 40 + ".y": "x" * 40 + "_y", "str2": "str2", "by": "by_", "_x": "v_x", "élan": "v_lan"}


AWKWARD = "id,a_very_long_column_name_1,a_very_long_column_name_2,2nd visit,weird name!,élan,alk.phos,_x,by,str2\n" \
          "1,1,2,3,4,5,6,7,8,9\n2,1,2,3,4,5,6,7,8,9\n3,2,2,3,4,5,6,7,8,9\n"


@pytest.mark.parametrize("fmt, reader", [("xpt", pyreadstat.read_xport), ("dta", pyreadstat.read_dta),
                                         ("sav", pyreadstat.read_sav)])
def test_no_column_name_stops_an_export_and_the_labels_keep_the_names(tmp_repo, tmp_path, fmt, reader):
    delivery = tmp_path / "awkward.csv"
    delivery.write_text(AWKWARD, encoding="utf-8")
    tmp_repo.ingest("awkward", delivery, "--key", "id")
    result = tmp_repo.ipd("pull", "awkward@v1", "--from", tmp_repo.root, "--out", tmp_path / "out", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    frame, meta = reader(str(tmp_path / "out" / f"awkward.{fmt}"))
    delivered = AWKWARD.splitlines()[0].split(",")
    expected = formats.export_names(delivered, fmt)
    assert list(frame.columns) == [expected[c] for c in delivered]
    labels = dict(zip(meta.column_names, meta.column_labels))
    assert {c: labels[expected[c]] for c in delivered if expected[c] != c} == \
        {c: c for c in delivered if expected[c] != c}
    assert frame.iloc[0].tolist() == [1, 1, 2, 3, 4, 5, 6, 7, 8, 9]
