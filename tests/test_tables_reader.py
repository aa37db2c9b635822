"""A delivery of several tables sharing a participant ID, read by table name: a folder of files, a zip of
files, a workbook of sheets, a folder of Stata and CSV files. The tables are real trials (tests/data/real):
the CGD trial's participants (cgd0.csv, 128 rows), its infection episodes (cgd.csv, 203 rows, several a
participant) and the colon cancer trial's outcomes (colon.csv, 1,858 rows); each delivery is written here.
"""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyreadstat
import pytest

from conftest import DATA
from repo.backends import formats
from repo.backends.tables import read_tables
from repo.errors import InvalidInput

REAL = DATA / "real"
PARTICIPANTS, EPISODES, OUTCOMES = REAL / "cgd0.csv", REAL / "cgd.csv", REAL / "colon.csv"
SAS = DATA / "labelled.sas7bdat"


def header(path: Path) -> list[str]:
    return path.read_text().splitlines()[0].split(",")


def write_zip(path: Path, members: dict[str, Path | str]) -> Path:
    """A zip of ``members``: member name -> a file to copy in, or the text to write."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            if isinstance(content, Path):
                archive.write(content, name)
            else:
                archive.writestr(name, content)
    return path


def write_book(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def folder(path: Path, files: dict[str, Path | str]) -> Path:
    path.mkdir()
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copy(content, path / name)
        else:
            (path / name).write_text(content)
    return path


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory) -> dict[str, Path]:
    """The same trial delivered four ways, each with what a reader must pass over."""
    root = tmp_path_factory.mktemp("deliveries")
    csvs = folder(root / "csv", {"baseline.csv": PARTICIPANTS, "episodes.csv": EPISODES,
                                 "define.pdf": "%PDF-1.4", ".DS_Store": "", "._baseline.csv": "\x00\x05",
                                 "~$labs.xlsx": "\x08curator"})  # Office's owner file of an open workbook
    folder(csvs / "old", {"baseline.csv": EPISODES})  # a sub-folder: passed over
    zipped = write_zip(root / "trial.zip", {
        "trial/": "", "trial/baseline.csv": PARTICIPANTS, "trial/episodes.csv": EPISODES, "outcomes.csv": OUTCOMES,
        "trial/define.pdf": "%PDF-1.4", "trial/.hidden.csv": "x\n", "__MACOSX/trial/._baseline.csv": "\x00\x05",
        "trial/~$labs.xlsx": "\x08curator",
    })
    episodes = pd.read_csv(EPISODES)
    episodes["random"] = pd.to_datetime(episodes["random"])  # a date in Excel is a date-time at midnight
    book = write_book(root / "trial.xlsx", {"baseline": pd.read_csv(PARTICIPANTS), "notes": pd.DataFrame(),
                                            "episodes": episodes})
    stata = folder(root / "stata", {"episodes.csv": EPISODES})
    # Stata's names hold no '.': R's hos.cat is delivered as hos_cat
    pyreadstat.write_dta(pd.read_csv(PARTICIPANTS).rename(columns={"hos.cat": "hos_cat"}), str(stata / "baseline.dta"))
    write_book(stata / "outcomes.xlsx", {"colon": pd.read_csv(OUTCOMES)[["id", "etype", "nodes"]]})  # one sheet
    return {"csv": csvs, "zip": zipped, "xlsx": book, "dta": stata}


@pytest.fixture(scope="module")
def read(deliveries) -> dict[str, dict[str, formats.Delivery]]:
    return {kind: read_tables(path) for kind, path in deliveries.items()}


def test_a_folder_is_its_files_by_stem(read):
    tables = read["csv"]
    assert list(tables) == ["baseline", "episodes"]
    baseline, episodes = tables["baseline"].table, tables["episodes"].table
    assert (baseline.num_rows, episodes.num_rows) == (128, 203)
    assert baseline.column_names == header(PARTICIPANTS)
    assert episodes.column_names == header(EPISODES)
    assert baseline.schema.field("id").type == pa.int64()
    assert baseline.column("id").to_pylist()[:3] == [1, 2, 3]
    assert baseline.column("random").to_pylist()[0] == 82888  # cgd0 gives the date as a number
    assert episodes.schema.field("random").type == pa.date32()
    assert episodes.column("random")[0].as_py() == dt.date(1989, 6, 7)
    assert episodes.column("center")[0].as_py() == "Scripps Institute"
    assert {t.format for t in tables.values()} == {"csv"}


def test_a_zip_reads_as_the_folder_of_its_members(read):
    tables = read["zip"]
    assert list(tables) == ["baseline", "episodes", "outcomes"]  # sub-folders flattened, sorted by name
    for name in ("baseline", "episodes"):
        assert tables[name].table.equals(read["csv"][name].table)
    outcomes = tables["outcomes"].table
    assert outcomes.num_rows == 1858
    assert outcomes.column_names == header(OUTCOMES)
    assert outcomes.column("rx")[0].as_py() == "Lev+5FU"


def test_a_workbook_is_its_sheets_by_name(read, deliveries):
    tables = read["xlsx"]
    assert list(tables) == ["baseline", "episodes"]  # the empty sheet 'notes' is no table
    baseline, episodes = tables["baseline"].table, tables["episodes"].table
    assert (baseline.num_rows, episodes.num_rows) == (128, 203)
    assert baseline.column_names == header(PARTICIPANTS)
    assert episodes.column_names == header(EPISODES)
    assert baseline.schema.field("id").type == pa.int64()
    assert baseline.schema.field("etime3").type == pa.int64()  # whole numbers with gaps stay integers
    assert baseline.column("etime3").null_count == 120  # 8 participants had a third infection
    assert baseline.column("etime3")[1].as_py() == 152
    assert episodes.schema.field("random").type == pa.date32()
    assert episodes.column("random")[0].as_py() == dt.date(1989, 6, 7)
    # the first sheet reads as formats.read reads a workbook
    assert formats.read(deliveries["xlsx"]).table.equals(baseline, check_metadata=True)


def test_a_folder_of_stata_and_csv_files_read_by_the_reader_asked_for(read, deliveries):
    tables = read["dta"]  # reader 1: the types the files gave
    assert list(tables) == ["baseline", "episodes", "outcomes"]  # a workbook of one sheet: named by its file
    assert [t.format for t in tables.values()] == ["dta", "csv", "excel"]
    outcomes = tables["outcomes"].table
    assert outcomes.num_rows == 1858
    assert outcomes.column_names == ["id", "etype", "nodes"]
    assert outcomes.schema.field("nodes").type == pa.int64()  # 5.0, 1.0, ... with gaps: integers, as from CSV
    assert outcomes.column("nodes").null_count == 36
    baseline = tables["baseline"].table
    assert baseline.num_rows == 128
    assert baseline.column_names == [c.replace(".", "_") for c in header(PARTICIPANTS)]
    assert baseline.schema.field("id").type == pa.float64()  # Stata has the id as a double
    integers = read_tables(deliveries["dta"], reader=2)["baseline"].table
    assert integers.schema.field("id").type == pa.int64()
    assert integers.column("id").to_pylist()[:3] == [1, 2, 3]
    assert integers.schema.field("height").type == pa.float64()  # 147.0, 159.0, but 162.5 too
    assert integers.column("height")[0].as_py() == 147.0


def test_a_single_file_is_one_table_named_by_its_stem():
    tables = read_tables(PARTICIPANTS, reader=2)
    assert list(tables) == ["cgd0"]
    assert tables["cgd0"].table.num_rows == 128
    assert tables["cgd0"].table.schema.field("etime1").type == pa.int64()


def test_formats_read_refuses_a_zip(deliveries):
    with pytest.raises(InvalidInput) as refused:
        formats.read(deliveries["zip"])
    known = ", ".join(sorted(formats.READERS))
    assert str(refused.value) == f"{deliveries['zip']}: a delivery of several tables: give one table's file; " \
                                 f"ipd reads {known}"


# -- refusals: each one line, naming the file (and member or sheet) at fault ------------------------------

KNOWN = ", ".join(sorted(formats.READERS))
RAGGED = "id,arm,dose\n1,A,2\n2,B\n"
OUTSIDE = "would be unzipped outside its folder: ask for the zip again without it"
RULE = "rename it with letters, digits, '_', '-' and '.', starting with a letter or digit"


def two_in_a_folder(tmp: Path) -> tuple[Path, str]:
    path = folder(tmp / "trial", {"ae.csv": PARTICIPANTS, "ae.sas7bdat": SAS})
    return path, f"{path}: two tables named 'ae': ae.csv and ae.sas7bdat"


def two_in_a_zip(tmp: Path) -> tuple[Path, str]:
    path = write_zip(tmp / "t.zip", {"ae.csv": PARTICIPANTS, "sas/ae.sas7bdat": SAS})
    return path, f"{path}: two tables named 'ae': ae.csv and sas/ae.sas7bdat"


def two_but_for_case(tmp: Path) -> tuple[Path, str]:
    path = write_zip(tmp / "t.zip", {"AE.csv": PARTICIPANTS, "ae.csv": EPISODES})
    return path, f"{path}: two tables named 'AE' and 'ae' (one folder on Windows and macOS): AE.csv and ae.csv"


def zip_slip(tmp: Path) -> tuple[Path, str]:
    path = write_zip(tmp / "t.zip", {"ae.csv": PARTICIPANTS, "../../evil.csv": "id\n1\n"})
    return path, f"{path}: member '../../evil.csv' {OUTSIDE}"


def absolute_member(tmp: Path) -> tuple[Path, str]:
    path = tmp / "t.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("/etc/evil.csv"), "id\n1\n")  # ZipInfo keeps the leading '/'
    return path, f"{path}: member '/etc/evil.csv' {OUTSIDE}"


def an_empty_folder(tmp: Path) -> tuple[Path, str]:
    path = folder(tmp / "trial", {"README.pdf": "%PDF-1.4", ".hidden.csv": "id\n1\n"})
    (path / "tables").mkdir()
    (path / "tables" / "ae.csv").write_text("id\n1\n")
    return path, (f"{path}: no table in the folder: ipd reads files ending {KNOWN} "
                  "(hidden files and sub-folders are passed over)")


def a_zip_of_no_table(tmp: Path) -> tuple[Path, str]:
    path = write_zip(tmp / "t.zip", {"define.pdf": "%PDF-1.4", "__MACOSX/._ae.csv": "x"})
    return path, (f"{path}: no table in the zip: ipd reads files ending {KNOWN} "
                  "(hidden files and __MACOSX/ are passed over)")


def not_a_zip(tmp: Path) -> tuple[Path, str]:
    path = tmp / "t.zip"
    path.write_text(RAGGED)
    return path, f"{path}: cannot be read as zip: File is not a zip file"


def a_ragged_member(tmp: Path) -> tuple[Path, str]:
    path = write_zip(tmp / "t.zip", {"trial/ae.csv": RAGGED, "trial/baseline.csv": PARTICIPANTS})
    return path, f"{path}, member 'trial/ae.csv', line 3: 2 fields, but the header has 3"


def a_file_name_with_a_space(tmp: Path) -> tuple[Path, str]:
    path = folder(tmp / "trial", {"adverse events.csv": PARTICIPANTS, "baseline.csv": PARTICIPANTS})
    return path, f"{path / 'adverse events.csv'}: 'adverse events' cannot name a table: {RULE}"


def a_member_name_with_an_underscore_first(tmp: Path) -> tuple[Path, str]:
    path = write_zip(tmp / "t.zip", {"data/_ae.csv": PARTICIPANTS})
    return path, f"{path}, member 'data/_ae.csv': '_ae' cannot name a table: {RULE}"


def a_sheet_name_with_a_space(tmp: Path) -> tuple[Path, str]:
    path = write_book(tmp / "t.xlsx", {"baseline": pd.DataFrame({"id": [1, 2]}),
                                        "Adverse events": pd.DataFrame({"id": [1], "term": ["rash"]})})
    return path, f"{path}, sheet 'Adverse events': 'Adverse events' cannot name a table: {RULE}"


def a_sheet_of_a_header_only(tmp: Path) -> tuple[Path, str]:
    path = write_book(tmp / "t.xlsx", {"baseline": pd.DataFrame({"id": [1, 2]}),
                                        "ae": pd.DataFrame({"id": [], "term": []})})
    return path, f"{path}, sheet 'ae': the delivery has no rows"


def a_workbook_of_empty_sheets(tmp: Path) -> tuple[Path, str]:
    path = write_book(tmp / "t.xlsx", {"one": pd.DataFrame(), "two": pd.DataFrame()})
    return path, f"{path}: no table in the workbook: every sheet is empty"


def a_workbook_of_two_sheets_in_a_folder(tmp: Path) -> tuple[Path, str]:
    path = folder(tmp / "trial", {"baseline.csv": PARTICIPANTS})
    write_book(path / "labs.xlsx", {"alt": pd.DataFrame({"id": [1]}), "ast": pd.DataFrame({"id": [1]})})
    return path, (f"{path / 'labs.xlsx'}: 2 sheets hold tables (alt, ast), and a file among several tables is "
                  "one table: give each sheet as its own file, or the workbook alone")


def an_empty_workbook_in_a_zip(tmp: Path) -> tuple[Path, str]:
    book = write_book(tmp / "labs.xlsx", {"alt": pd.DataFrame()})
    path = write_zip(tmp / "t.zip", {"baseline.csv": PARTICIPANTS, "labs/labs.xlsx": book})
    return path, f"{path}, member 'labs/labs.xlsx': every sheet of the workbook is empty"


def nowhere(tmp: Path) -> tuple[Path, str]:
    return tmp / "trial", f"{tmp / 'trial'}: no such file or folder"


@pytest.mark.parametrize("make", [
    two_in_a_folder, two_in_a_zip, two_but_for_case, zip_slip, absolute_member, an_empty_folder,
    a_zip_of_no_table, not_a_zip, a_ragged_member, a_file_name_with_a_space, a_member_name_with_an_underscore_first,
    a_sheet_name_with_a_space, a_sheet_of_a_header_only, a_workbook_of_empty_sheets,
    a_workbook_of_two_sheets_in_a_folder, an_empty_workbook_in_a_zip, nowhere,
], ids=lambda make: make.__name__)
def test_refused_in_one_line(tmp_path, make):
    path, message = make(tmp_path)
    with pytest.raises(InvalidInput) as refused:
        read_tables(path)
    assert str(refused.value) == message


def test_a_reader_this_ipd_does_not_know(deliveries):
    with pytest.raises(InvalidInput) as refused:
        read_tables(deliveries["zip"], reader=formats.READER + 1)
    assert str(refused.value) == (f"{deliveries['zip']}: read by reader {formats.READER + 1}, and this ipd knows "
                                  f"readers 1 to {formats.READER}: upgrade ipd")
