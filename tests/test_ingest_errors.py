"""Bad input is refused on one line that names the file, row, column or key at fault, and changes nothing."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import repo
from conftest import ipd

TRIAL_NAME_RULE = "use lower-case letters, digits, '-' or '_', starting with a letter (at most 64 characters)"


def _csv(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def one_line_error(result, exit_code: int = 2) -> str:
    """The command failed with a RepoError's one line on stderr (no internal error, no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == exit_code, result.output + result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "internal error" not in lines[0]
    return lines[0]


def refused(tmp_repo, *args) -> str:
    """Run an ingest that must fail; the repository must be exactly as before. Returns the error line."""
    before = tmp_repo.state()
    result = tmp_repo.ipd("ingest", *args)
    line = one_line_error(result)
    assert tmp_repo.state() == before
    return line


@pytest.fixture
def delivery(tmp_path):
    return _csv(tmp_path / "d1.csv", {"id": [1, 2, 3], "arm": ["A", "B", "A"], "sbp": [120, 135, 128]})


@pytest.fixture
def t1(tmp_repo, delivery):
    """A repository holding trial t1 at v1."""
    tmp_repo.ingest("t1", delivery, "--key", "id", "--arm", "arm")
    return tmp_repo


def assert_only_v1(tmp_repo):
    dataset = repo.open(tmp_repo.root).dataset("t1")
    assert [r.version for r in dataset.records()] == ["v1"]
    version = dataset.version("v1")
    version.verify()
    assert version.to_pandas().sort_values("id")["sbp"].tolist() == [120, 135, 128]
    assert sorted(p.name for p in (tmp_repo.root / "datasets/t1/source").iterdir()) == ["v1"]


# -- files that cannot be read ---------------------------------------------------------------------------

GARBAGE = bytes(range(256)) * 8


@pytest.mark.parametrize("name, content, fmt", [
    ("garbage.sav", GARBAGE, "sav"),
    ("garbage.dta", GARBAGE, "dta"),
    ("garbage.sas7bdat", GARBAGE, "sas7bdat"),
    ("garbage.xpt", GARBAGE, "xpt"),
    ("garbage.xlsx", GARBAGE, "excel"),
    ("truncated.parquet", b"PAR1" + b"\x00" * 100 + b"PAR1", "parquet"),
    ("not-parquet.parquet", b"id,arm\n1,A\n", "parquet"),
    ("latin1.csv", "id,name\n1,Müller\n2,Weiß\n".encode("latin-1"), "csv"),
], ids=lambda value: value if isinstance(value, str) and "." in value else "")
def test_an_unreadable_file(tmp_repo, tmp_path, name, content, fmt):
    path = tmp_path / name
    path.write_bytes(content)
    line = refused(tmp_repo, "t1", path, "--key", "id")
    assert line.startswith(f"error: {path}: cannot be read as {fmt}: ")
    assert len(line) - len(str(path)) < 400  # the reader's message is kept short


def test_an_empty_file(tmp_repo, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert refused(tmp_repo, "t1", path, "--key", "id") == f"error: {path}: the file is empty"


@pytest.mark.parametrize("name, content", [
    ("header-only.csv", "id,arm,sbp\n"),
    ("header-only.tsv", "id\tarm\tsbp\n"),
])
def test_a_file_with_a_header_and_no_rows(tmp_repo, tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    assert refused(tmp_repo, "t1", path, "--key", "id") == f"error: {path}: the delivery has no rows"


def test_a_parquet_file_with_no_rows(tmp_repo, tmp_path):
    path = tmp_path / "none.parquet"
    pd.DataFrame({"id": pd.Series([], dtype="int64")}).to_parquet(path)
    assert refused(tmp_repo, "t1", path, "--key", "id") == f"error: {path}: the delivery has no rows"


@pytest.mark.parametrize("name, suffix", [("d1.json", "'.json'"), ("d1", "'(none)'"), ("d1.csv.gz", "'.gz'")])
def test_an_unknown_file_type(tmp_repo, tmp_path, name, suffix):
    path = tmp_path / name
    path.write_text("id,arm\n1,A\n")
    line = refused(tmp_repo, "t1", path, "--key", "id")
    assert line.startswith(f"error: {path}: unknown file type {suffix}; ipd reads ")
    assert ".csv" in line and ".sav" in line and ".parquet" in line


def test_a_file_that_does_not_exist(tmp_repo, tmp_path):
    path = tmp_path / "nowhere.csv"
    assert refused(tmp_repo, "t1", path, "--key", "id") == f"error: {path}: no such file or folder"


def test_a_folder_without_a_table(tmp_repo, tmp_path):
    """A folder is a delivery of several tables: one with no file ipd reads is refused."""
    path = tmp_path / "folder.csv"
    path.mkdir()
    (path / "notes.doc").write_text("minutes of the steering committee")
    assert refused(tmp_repo, "t1", path, "--key", "id") == (
        f"error: {path}: no table in the folder: ipd reads files ending .csv, .dta, .parquet, .pq, .sas7bdat, "
        ".sav, .tab, .tsv, .txt, .xlsm, .xlsx, .xpt, .zsav (hidden files and sub-folders are passed over)")


def test_a_column_twice_or_without_a_name(tmp_repo, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    twice, unnamed, first = (tmp_path / f"{n}.parquet" for n in ("twice", "unnamed", "first"))
    pq.write_table(pa.Table.from_arrays([pa.array([1]), pa.array([2]), pa.array([3])], ["id", "sbp", "sbp"]), twice)
    pq.write_table(pa.Table.from_arrays([pa.array([1]), pa.array([2])], ["id", " "]), unnamed)
    pq.write_table(pa.Table.from_arrays([pa.array([7]), pa.array([1]), pa.array([2])], ["", "id", "sbp"]), first)
    line = refused(tmp_repo, "t1", twice, "--key", "id")  # pyarrow itself refuses to read it
    assert line.startswith(f"error: {twice}: ") and "sbp" in line
    assert refused(tmp_repo, "t1", unnamed, "--key", "id") == (
        f"error: {unnamed}: column 2 of the header has no name (after 'id'): name it, or leave it out of the delivery")
    tmp_repo.ingest("t1", first, "--key", "id")  # named by position, as R's row names in a CSV are
    assert repo.open(tmp_repo.root).dataset("t1").version().record.columns == ["column0", "id", "sbp"]


def test_a_csv_header_with_a_column_twice(tmp_repo, tmp_path):
    """The delivery's own names are kept: no column may be renamed behind the curator's back (sbp_1)."""
    path = tmp_path / "header.csv"
    path.write_text("id,sbp,sbp\n1,120,121\n2,130,131\n")
    assert refused(tmp_repo, "t1", path, "--key", "id") == f"error: {path}: column 'sbp' appears twice"


def test_an_unnamed_first_csv_column_is_named_by_position_and_noted(tmp_repo, tmp_path):
    """R's write.csv writes row names as an unnamed first column: common in real deliveries."""
    path = tmp_path / "header.csv"
    path.write_text('"","id","sbp"\n"1",1,121\n"2",2,131\n')
    tmp_repo.ingest("t1", path, "--key", "id")
    columns = repo.open(tmp_repo.root).dataset("t1").metadata()["columns"]
    assert [(c["name"], c.get("note")) for c in columns] == [
        ("column0", "unnamed in the delivery; named by its position"), ("id", None), ("sbp", None)]


def test_any_other_unnamed_csv_column_is_refused_naming_its_position(tmp_repo, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("id,,sbp,column1\n1,120,121,5\n2,130,131,6\n")
    assert refused(tmp_repo, "t1", path, "--key", "id") == (
        f"error: {path}: column 2 of the header has no name (after 'id'): name it, or leave it out of the delivery")


def test_an_unnamed_first_column_whose_given_name_is_taken_is_refused(tmp_repo, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",id,column0\n1,1,5\n2,2,6\n")
    assert refused(tmp_repo, "t1", path, "--key", "id") == (
        f"error: {path}: column 1 of the header has no name, and the name ipd gives it ('column0') is taken by "
        "another column: name it in the delivery")


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_repo, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffid,sbp\n1,120\n2,130\n".encode("utf-8"))
    tmp_repo.ingest("t1", path, "--key", "id")
    assert repo.open(tmp_repo.root).dataset("t1").version().record.columns == ["id", "sbp"]


@pytest.mark.parametrize("rows, line, fields", [
    (["1,120,80", "2,130", "3,140,90"], 3, 2),             # a short row: DuckDB reads one column of whole lines
    (["1,120,80", "2,130,85", "3,140,90,7"], 4, 4),        # a long row: DuckDB takes it for the header
])
def test_a_ragged_csv_names_the_line(tmp_repo, tmp_path, rows, line, fields):
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(["id,sbp,dbp", *rows]) + "\n")
    assert refused(tmp_repo, "t1", path, "--key", "id") == (
        f"error: {path}, line {line}: {fields} fields, but the header has 3")


# -- columns and names -----------------------------------------------------------------------------------

def test_an_unknown_key_column(tmp_repo, delivery):
    line = refused(tmp_repo, "t1", delivery, "--key", "pid")
    assert line == f"error: {delivery}: no key column 'pid'; the columns are id, arm, sbp"


@pytest.mark.parametrize("role, option", [("arm", "--arm"), ("randomised", "--randomised")])
def test_an_unknown_role_column(tmp_repo, delivery, role, option):
    line = refused(tmp_repo, "t1", delivery, "--key", "id", option, "treatment")
    assert line == f"error: {delivery}: no {role} column 'treatment'; the columns are id, arm, sbp"


@pytest.mark.parametrize("name", ["ACTG", "1abc", "a/b", "", "_x", "a b", "x" * 65, "../t1", "t1\n"])
def test_an_invalid_trial_name(tmp_repo, delivery, name):
    line = refused(tmp_repo, name, delivery, "--key", "id")
    assert line == f"error: invalid trial name {name!r}: {TRIAL_NAME_RULE}"


def test_a_new_trial_needs_a_key(tmp_repo, delivery):
    line = refused(tmp_repo, "t1", delivery)
    assert line == "error: t1 is a new trial: name its participant key column with --key"


# -- keys ------------------------------------------------------------------------------------------------

def test_repeated_keys_are_listed_with_their_rows(tmp_repo, tmp_path):
    path = _csv(tmp_path / "dup.csv", {"id": [1, 2, 1, 3, 2, 2], "sbp": [120, 121, 122, 123, 124, 125]})
    line = refused(tmp_repo, "t1", path, "--key", "id")
    assert line == f"error: {path}: key 'id' is not unique: 2 repeated value(s): 1 in rows 1, 3; 2 in rows 2, 5, 6" \
        " (several rows a participant? key them by the columns that pick one: --key id --key COLUMN)"


def test_repeated_text_keys_are_quoted(tmp_repo, tmp_path):
    path = _csv(tmp_path / "dup.csv", {"pid": ["p01", "p02", "p03", "p02"], "sbp": [120, 121, 122, 123]})
    line = refused(tmp_repo, "t1", path, "--key", "pid")
    assert line == f"error: {path}: key 'pid' is not unique: 1 repeated value(s): 'p02' in rows 2, 4" \
        " (several rows a participant? key them by the columns that pick one: --key pid --key COLUMN)"


def test_many_repeated_keys_are_summarised(tmp_repo, tmp_path):
    path = _csv(tmp_path / "dup.csv", {"id": list(range(1, 9)) * 2, "sbp": range(16)})
    line = refused(tmp_repo, "t1", path, "--key", "id")
    assert line == (f"error: {path}: key 'id' is not unique: 8 repeated value(s): 1 in rows 1, 9; "
                    "2 in rows 2, 10; 3 in rows 3, 11; 4 in rows 4, 12; 5 in rows 5, 13; and 3 more"
                    " (several rows a participant? key them by the columns that pick one: --key id --key COLUMN)")


def test_missing_keys_are_listed_by_row(tmp_repo, tmp_path):
    path = tmp_path / "missing.csv"
    path.write_text("id,sbp\n1,120\n,121\n3,122\nNA,123\n5,124\n")
    line = refused(tmp_repo, "t1", path, "--key", "id")
    assert line == f"error: {path}: key 'id' is missing in 2 row(s): 2, 4"


def test_blank_text_keys_are_missing(tmp_repo, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text('pid,sbp\np01,120\n"   ",121\np03,122\n')
    line = refused(tmp_repo, "t1", path, "--key", "pid")
    assert line == f"error: {path}: key 'pid' is missing in 1 row(s): 2"


def test_many_missing_keys_are_summarised(tmp_repo, tmp_path):
    path = _csv(tmp_path / "missing.csv", {"id": [1] + [None] * 7, "sbp": range(8)})
    line = refused(tmp_repo, "t1", path, "--key", "id")
    assert line == f"error: {path}: key 'id' is missing in 7 row(s): 2, 3, 4, 5, 6, …"


def test_a_nan_key_is_missing(tmp_repo, tmp_path):
    """NaN is a value to SQL (DISTINCT counts it once), but it names no participant."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"id": [1.0, float("nan"), 3.0], "sbp": [120, 121, 122]}), path)
    line = refused(tmp_repo, "t1", path, "--key", "id")
    assert line == f"error: {path}: key 'id' is missing in 1 row(s): 2"


# -- the remote ------------------------------------------------------------------------------------------

def test_a_remote_that_is_gone(tmp_repo, delivery):
    shutil.rmtree(tmp_repo.remote)
    line = refused(tmp_repo, "t1", delivery, "--key", "id")
    assert line == f"error: the DVC remote {tmp_repo.remote} cannot be reached (no such directory)"


def test_a_remote_that_is_a_file(tmp_repo, delivery):
    shutil.rmtree(tmp_repo.remote)
    tmp_repo.remote.write_text("not a directory\n")
    line = refused(tmp_repo, "t1", delivery, "--key", "id")
    assert str(tmp_repo.remote) in line


# -- a re-delivery that fails leaves v1 as it was -------------------------------------------------------

def test_a_redelivery_with_repeated_keys(t1, tmp_path):
    second = _csv(tmp_path / "d2.csv", {"id": [1, 2, 2], "arm": ["A", "B", "A"], "sbp": [120, 153, 128]})
    line = refused(t1, "t1", second)  # the key is remembered, and checked
    assert line == f"error: {second}: key 'id' is not unique: 1 repeated value(s): 2 in rows 2, 3" \
        " (several rows a participant? key them by the columns that pick one: --key id --key COLUMN)"
    assert_only_v1(t1)


def test_a_redelivery_without_the_arm_column(t1, tmp_path):
    second = _csv(tmp_path / "d2.csv", {"id": [1, 2, 3], "sbp": [120, 153, 128]})
    line = refused(t1, "t1", second)  # the role is remembered, so its column must still be there
    assert line == f"error: {second}: no arm column 'arm'; the columns are id, sbp"
    assert_only_v1(t1)


def test_a_redelivery_when_the_remote_is_gone(t1, tmp_path):
    meta = t1.root / "datasets/t1/dataset.yaml"  # a curator's edit, not yet committed, survives too
    meta.write_text(meta.read_text().replace("- name: sbp\n", "- name: sbp\n  label: Systolic BP (mmHg)\n"))
    second = _csv(tmp_path / "d2.csv", {"id": [1, 2, 3, 4], "arm": ["A", "B", "A", "B"], "sbp": [1, 2, 3, 4]})
    shutil.move(t1.remote, tmp_path / "remote-elsewhere")
    line = refused(t1, "t1", second)
    assert line == f"error: the DVC remote {t1.remote} cannot be reached (no such directory)"
    shutil.move(tmp_path / "remote-elsewhere", t1.remote)
    assert "Systolic BP (mmHg)" in meta.read_text()
    assert_only_v1(t1)
    assert t1.ingest("t1", second).stdout.startswith("t1@v2: re-delivery of 4 rows")  # and it works afterwards


def test_a_redelivery_of_an_unreadable_file(t1, tmp_path):
    second = tmp_path / "d2.parquet"
    second.write_bytes(b"PAR1 truncated")
    assert refused(t1, "t1", second).startswith(f"error: {second}: cannot be read as parquet: ")
    assert_only_v1(t1)


# -- reading what is not there ---------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (("show", "t1@v9"), "t1 has no version v9 (latest is v1)"),
    (("show", "t1@v0"), "invalid version 'v0': versions are named v1, v2, …"),
    (("show", "t1@2"), "invalid version '2': versions are named v1, v2, …"),
    (("show", "nosuch"), "no trial 'nosuch' in {root} (see `ipd list`)"),
    (("show", "nosuch@v1"), "no trial 'nosuch' in {root} (see `ipd list`)"),
    (("show", "T1@v1"), f"invalid trial name 'T1': {TRIAL_NAME_RULE}"),
    (("log", "nosuch"), "no trial 'nosuch' in {root} (see `ipd list`)"),
    (("log", "a/b"), f"invalid trial name 'a/b': {TRIAL_NAME_RULE}"),
])
def test_show_and_log_of_what_is_not_there(t1, args, message):
    before = t1.state()
    line = one_line_error(t1.ipd(*args))
    assert line == "error: " + message.format(root=t1.root)
    assert t1.state() == before


@pytest.mark.parametrize("args", [("list",), ("log", "t1"), ("show", "t1@v1"), ("ingest", "t1", "{file}", "--key", "id")])
def test_commands_outside_any_repository(tmp_path, delivery, args):
    outside = tmp_path / "outside"
    outside.mkdir()
    args = [str(delivery) if a == "{file}" else a for a in args]
    for result, shown in ((ipd(*args, cwd=outside), "."), (ipd(*args, "--repo", outside), outside)):
        line = one_line_error(result)
        assert line == f"error: {shown} is not inside an ipd repository (run `ipd init` first)"
    assert list(outside.iterdir()) == []  # nothing was created there


def test_a_repository_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "missing"
    line = one_line_error(ipd("list", "--repo", missing))
    assert line == f"error: {missing}: no such directory"
    assert not missing.exists()


def test_the_same_rows_again_are_not_a_new_version(t1, delivery, tmp_path):
    """A delivery sent twice (the same file, or the same rows in a file of another name) cuts no version."""
    resent = shutil.copy(delivery, tmp_path / "d1-resent.csv")
    for file in (delivery, resent):
        line = refused(t1, "t1", file)
        assert line.startswith(f"error: {file}: the same rows as t1@v1 (fingerprint ")
        assert line.endswith("): nothing new to ingest")
    assert_only_v1(t1)
