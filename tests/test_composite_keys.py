"""Trials of several rows a participant, keyed by several columns (real CGD from R's survival package: one row
per infection episode, 203 rows, 128 participants, keyed by ``id`` and ``enum``): ingest refuses a key that is
not unique and says how to key such data; checks count participants; diffs, corrections and queries name
rows by their whole key; a participant's rows share a part; releases are refused until they count
participants."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import git, ipd, one_line_error, own_home
from conftest import run as ok

CGD = Path(__file__).parent / "data" / "real" / "cgd.csv"
KEYED = ("--key", "id", "--key", "enum", "--participant", "id")


@pytest.fixture(scope="module")
def cgd(tmp_path_factory):
    """CGD keyed by (id, enum), its roles declared; read-only for the tests that share it."""
    base = tmp_path_factory.mktemp("cgd")
    with own_home(base / "home"):
        root = base / "repo"
        ok("init", root, "--remote", base / "remote")
        ok("ingest", "cgd", CGD, *KEYED, "--arm", "treat", "--randomised", "random", "--repo", root)
        ok("roles", "cgd", "--baseline", "age", "--baseline", "sex", "--repo", root)
    return root


@pytest.fixture
def cgd_copy(tmp_repo):
    ingested = tmp_repo.ingest("cgd", CGD, *KEYED, "--arm", "treat")
    assert ingested.stdout.startswith("cgd@v1: delivery of 203 rows (128 participants) × 16 columns in 1 part(s)")
    return tmp_repo


def delivered() -> pd.DataFrame:
    return pd.read_csv(CGD)


# -- ingest ---------------------------------------------------------------------------------------------

def test_a_participant_key_repeated_over_episodes_is_refused_with_how_to_key_them(tmp_repo):
    before = tmp_repo.state()
    result = tmp_repo.ipd("ingest", "cgd", CGD, "--key", "id")
    assert result.exit_code == 2
    assert one_line_error(result.stderr) == (
        f"error: {CGD}: key 'id' is not unique: 44 repeated value(s): 1 in rows 1, 2, 3; "
        "2 in rows 4, 5, 6, 7, 8, 9, 10, 11; 5 in rows 14, 15, 16; 7 in rows 18, 19; 9 in rows 21, 22; and 39 more "
        "(several rows a participant? key them by the columns that pick one: --key id --key COLUMN)")
    assert tmp_repo.state() == before


@pytest.mark.parametrize("options, message", [
    (("--key", "id", "--key", "enum"),
     "key (id, enum) has several columns: name the one that is the participant's with --participant"),
    (("--key", "id", "--key", "enum", "--participant", "treat"),
     "the participant column 'treat' is not one of the key's columns (id, enum)"),
    (("--key", "id", "--key", "treat", "--participant", "id"),
     "key (id, treat) is not unique: 44 repeated value(s): (1, 'rIFN-g') in rows 1, 2, 3; (2, 'placebo') in rows "
     "4, 5, 6, 7, 8, 9, 10, 11; (5, 'placebo') in rows 14, 15, 16; (7, 'placebo') in rows 18, 19; (9, 'placebo') in "
     "rows 21, 22; and 39 more"),
    (("--key", "id", "--key", "nosuch", "--participant", "id"),
     "no key column 'nosuch'; the columns are " + ", ".join(delivered().columns)),
])
def test_a_composite_key_that_cannot_name_rows_or_participants_is_refused(tmp_repo, options, message):
    before = tmp_repo.state()
    result = tmp_repo.ipd("ingest", "cgd", CGD, *options)
    assert result.exit_code == 2
    assert one_line_error(result.stderr) == f"error: {CGD}: {message}"
    assert tmp_repo.state() == before


def test_the_key_and_participant_are_recorded_and_shown(cgd):
    metadata = yaml.safe_load((cgd / "datasets/cgd/dataset.yaml").read_text())
    assert (metadata["key"], metadata["participant"]) == (["id", "enum"], "id")
    assert metadata["partitioning"]["scheme"] == "md5(participant) mod parts"
    record = json.loads((cgd / "datasets/cgd/versions/v1.json").read_text())
    assert (record["key"], record["participant"], record["rows"]) == (["id", "enum"], "id", 203)
    shown = ipd("show", "cgd", "--repo", cgd).stdout
    assert "203 × 16 columns, key (id, enum), participant id" in shown


def test_a_one_column_key_is_recorded_as_it_always_was(tmp_repo, tmp_path):
    path = tmp_path / "t.csv"
    delivered().drop_duplicates("id").to_csv(path, index=False)
    tmp_repo.ingest("t", path, "--key", "id")
    record = json.loads((tmp_repo.root / "datasets/t/versions/v1.json").read_text())
    assert record["key"] == "id" and "participant" not in record
    metadata = yaml.safe_load((tmp_repo.root / "datasets/t/dataset.yaml").read_text())
    assert "participant" not in metadata and metadata["partitioning"]["scheme"] == "md5(key) mod parts"


def test_all_of_a_participants_rows_share_the_part_their_participant_hashes_to(tmp_path):
    from repo.backends.sql import connect
    from repo.versions.parts import part_expression, part_name, write_parts

    table = pa.Table.from_pandas(delivered(), preserve_index=False)
    parts = write_parts(table, ["id", "enum"], "id", 4, tmp_path)
    by_part = {p.name: pq.read_table(tmp_path / p.name).to_pandas() for p in parts}
    assert sum(len(rows) for rows in by_part.values()) == 203
    con = connect()
    con.register("delivery", table)
    expected = dict(con.sql(f"SELECT DISTINCT id, {part_expression('id', 4)} FROM delivery").fetchall())
    assert len(set(expected.values())) > 1  # the participants do spread over parts
    for name, rows in by_part.items():
        assert {part_name(expected[i]) for i in rows["id"]} == {name}
        assert list(zip(rows["id"], rows["enum"])) == sorted(zip(rows["id"], rows["enum"]))  # ordered by key


# -- checks count participants ---------------------------------------------------------------------------

def test_checks_count_participants_not_rows(cgd):
    report = json.loads(ipd("check", "cgd", "--json", "--repo", cgd).stdout)
    results = {r["name"]: r for r in report["results"]}
    rows = delivered()
    expected = rows.groupby("treat")["id"].nunique().to_dict()
    assert expected == {"placebo": 65, "rIFN-g": 63}
    assert results["missing data: by arm"]["details"]["participants_by_arm"] == expected
    assert results["randomisation: sequence of arms by ID"]["details"]["participants"] == rows["id"].nunique() == 128
    assert results["expect_compound_columns_to_be_unique(id, enum)"]["success"]
    assert results["participants: the same arm, dates and baseline on every row"]["success"]


def test_a_participant_whose_rows_disagree_on_a_baseline_value_is_named(tmp_repo, tmp_path):
    rows = delivered()
    rows.loc[(rows.id == 2) & (rows.enum == 3), "age"] = 16  # participant 2 is 15 on their other rows
    path = tmp_path / "cgd.csv"
    rows.to_csv(path, index=False)
    tmp_repo.ingest("cgd", path, *KEYED, "--arm", "treat")
    assert ipd("roles", "cgd", "--baseline", "age", "--repo", tmp_repo.root).exit_code == 0
    result = ipd("check", "cgd", "--repo", tmp_repo.root)
    assert "FAIL participants: the same arm, dates and baseline on every row: age differs between the rows of " \
           "1 participant(s)" in result.stdout
    report = json.loads(ipd("check", "cgd", "--json", "--repo", tmp_repo.root).stdout)
    found = next(r for r in report["results"] if r["name"].startswith("participants:"))
    assert (found["unexpected_count"], found["unexpected_keys"], found["details"]) == (1, [2], {"differs": {"age": 1}})


def test_row_level_failures_are_named_by_the_whole_key(tmp_repo, tmp_path):
    rows = delivered()
    tmp_repo.ingest("cgd", CGD, *KEYED)
    rows.loc[(rows.id == 5) & (rows.enum == 2), "height"] = 999.0  # beyond the range the suite was built on
    path = tmp_path / "cgd.csv"
    rows.to_csv(path, index=False)
    tmp_repo.ingest("cgd", path)
    report = json.loads(ipd("check", "cgd", "--json", "--repo", tmp_repo.root).stdout)
    height = next(r for r in report["results"] if r["name"] == "expect_column_values_to_be_between(height)")
    assert (height["success"], height["unexpected_keys"]) == (False, [[5, 2]])
    for _ in ("run", "read back from the kept report"):
        shown = ipd("check", "cgd", "--repo", tmp_repo.root).stdout
        assert "│ (5, 2) " in shown and "[5, 2]" not in shown


# -- diffs, corrections, queries --------------------------------------------------------------------------

def test_a_redelivery_is_diffed_row_by_row_on_the_whole_key(cgd_copy, tmp_path):
    rows = delivered()
    rows.loc[(rows.id == 1) & (rows.enum == 2), "tstop"] = 370
    rows = rows[~((rows.id == 2) & (rows.enum == 8))]
    path = tmp_path / "cgd.csv"
    rows.to_csv(path, index=False)
    cgd_copy.ingest("cgd", path)
    diff = json.loads(ipd("diff", "cgd@v1", "cgd@v2", "--json", "--repo", cgd_copy.root).stdout)
    assert diff["key"] == ["id", "enum"]
    assert [(c["key"], c["column"], c["old"], c["new"]) for c in diff["cells"]] == [([1, 2], "tstop", 373, 370)]
    assert (diff["removed"], diff["added"]) == ([[2, 8]], [])


def test_corrections_name_a_row_by_its_whole_key_and_the_rebuild_reproduces_them(cgd_copy, tmp_path):
    root = cgd_copy.root
    before = cgd_copy.state()
    short = ipd("correct", "cgd", "--key", "1", "--column", "age", "--value", "13", "--reason", "CRF", "--repo", root)
    assert short.exit_code == 2
    assert one_line_error(short.stderr) == \
        "error: key (id, enum) takes 2 value(s), one a column (--key ID --key ENUM); got 1"
    absent = ipd("correct", "cgd", "--key", "1", "--key", "9", "--column", "age", "--value", "13", "--reason", "CRF",
                 "--repo", root)
    assert one_line_error(absent.stderr) == "error: no record with key (1, 9) in cgd@v1"
    assert cgd_copy.state() == before

    ok("correct", "cgd", "--key", "1", "--key", "2", "--column", "tstop", "--value", "370", "--reason", "CRF",
       "--repo", root)
    ok("correct", "cgd", "--key", "2", "--key", "8", "--remove", "--reason", "entered twice", "--repo", root)
    sheet = tmp_path / "fixes.csv"
    sheet.write_text("id,enum,column,value,reason\n4,1,tstop,100,typo on the form\n")
    ok("correct", "cgd", "--file", sheet, "--repo", root)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,episode,column,value,reason\n4,1,tstop,100,typo\n")
    refused = ipd("correct", "cgd", "--file", wrong, "--repo", root)
    assert one_line_error(refused.stderr) == f"error: {wrong}, line 2: 'episode' is not a key column; the key is (id, enum)"
    ok("commit", "cgd", "-m", "query round 1", "--repo", root)

    diff = json.loads(ipd("diff", "cgd@v1", "cgd@v2", "--json", "--repo", root).stdout)
    assert [(c["key"], c["column"], c["old"], c["new"], c["correction"]) for c in diff["cells"]] == [
        ([1, 2], "tstop", 373, 370, "c1"), ([4, 1], "tstop", 388, 100, "c3")]
    assert diff["explained"]["removed"] == [{"key": [2, 8], "correction": "c2"}]
    log = [json.loads(line) for line in (root / "datasets/cgd/corrections.jsonl").read_text().splitlines()]
    assert [entry["key"] for entry in log] == [[1, 2], [2, 8], [4, 1]]
    pulled = ipd("show", "cgd", "--json", "--repo", root)
    assert json.loads(pulled.stdout)["rows"] == 202
    assert ok("verify", "--rebuild", "--repo", root).stdout.strip().endswith("verified")


def test_a_variable_from_a_file_is_joined_by_the_whole_key(cgd_copy, tmp_path):
    root = cgd_copy.root
    supplied = tmp_path / "organism.csv"
    supplied.write_text("id,enum,organism\n1,1,Staphylococcus\n1,2,Aspergillus\n2,3,Serratia\n")
    ok("correct", "cgd", "--add-column", supplied, "--reason", "supplied by the trialists", "--repo", root)
    ok("commit", "cgd", "-m", "organisms", "--repo", root)
    pulled = tmp_path / "out"
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    ok("pull", "cgd@v2", "--from", clone, "--out", pulled, "--format", "csv")
    rows = pd.read_csv(pulled / "cgd.csv")
    found = rows.dropna(subset=["organism"])[["id", "enum", "organism"]].values.tolist()
    assert found == [[1, 1, "Staphylococcus"], [1, 2, "Aspergillus"], [2, 3, "Serratia"]]
    assert rows["organism"].isna().sum() == 200
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("id,enum,site\n1,99,lung\n")
    before = cgd_copy.state()
    refused = ipd("correct", "cgd", "--add-column", unknown, "--reason", "x", "--repo", root)
    assert one_line_error(refused.stderr) == f"error: {unknown}: 1 key(s) name no record of cgd@v2: (1, 99)"
    assert cgd_copy.state() == before
    assert ok("verify", "--rebuild", "--repo", root).stdout.strip().endswith("verified")


def test_a_query_names_a_row_by_its_whole_key(cgd_copy):
    root = cgd_copy.root
    opened = ok("query", "open", "cgd", "--key", "1", "--key", "2", "--column", "tstop", "--text", "373 days?",
                "--repo", root)
    assert opened.stdout.strip() == "cgd-q1 opened: key (1, 2), column tstop"
    listed = json.loads(ok("query", "list", "cgd", "--json", "--repo", root).stdout)
    assert [(q["key"], q["column"]) for q in listed] == [([1, 2], "tstop")]
    missing = ipd("query", "open", "cgd", "--key", "1", "--key", "99", "--text", "x", "--repo", root)
    assert one_line_error(missing.stderr) == "error: cgd@v1 has no record with (id, enum) = [1, 99]"


def test_a_corrected_version_keeps_the_participant_column_whatever_its_place_in_the_key(tmp_repo):
    root = tmp_repo.root
    tmp_repo.ingest("cgd", CGD, "--key", "enum", "--key", "id", "--participant", "id")
    ok("correct", "cgd", "--key", "2", "--key", "1", "--column", "tstop", "--value", "370", "--reason", "CRF",
       "--repo", root)
    ok("commit", "cgd", "-m", "query round 1", "--repo", root)
    record = json.loads((root / "datasets/cgd/versions/v2.json").read_text())
    assert (record["key"], record["participant"], record["rows"]) == (["enum", "id"], "id", 203)
    diff = json.loads(ipd("diff", "cgd@v1", "cgd@v2", "--json", "--repo", root).stdout)
    assert [(c["key"], c["old"], c["new"]) for c in diff["cells"]] == [([2, 1], 373, 370)]


def test_dates_are_checked_on_every_row_and_the_rows_at_fault_named_by_their_whole_key(tmp_repo, tmp_path):
    rows = delivered()
    rows["infected"] = (pd.to_datetime(rows["random"]) + pd.to_timedelta(rows["tstop"], unit="D")).dt.date
    second = (rows.id == 2) & (rows.enum == 3)  # an episode of participant 2, not the row the other checks read
    rows.loc[second, "infected"] = (pd.to_datetime(rows.loc[second, "random"]) - pd.Timedelta(days=10)).dt.date
    path = tmp_path / "cgd.csv"
    rows.to_csv(path, index=False)
    tmp_repo.ingest("cgd", path, *KEYED, "--arm", "treat", "--randomised", "random")
    assert ipd("roles", "cgd", "--events", "infected", "--repo", tmp_repo.root).exit_code == 0
    report = json.loads(ipd("check", "cgd", "--json", "--repo", tmp_repo.root).stdout)
    found = [r for r in report["results"] if r["name"].startswith("dates:")]
    assert [(r["name"], r["unexpected_count"], r["unexpected_keys"]) for r in found] == [
        ("dates: randomised (random) on or before event (infected)", 1, [[2, 3]])]


def test_two_rows_a_participant_recurrence_and_death_are_counted_as_one_participant(tmp_repo):
    """Real colon cancer trial (Moertel et al. 1990): a row for recurrence and one for death (etype 1, 2)."""
    colon = CGD.with_name("colon.csv")
    tmp_repo.ingest("colon", colon, "--key", "id", "--key", "etype", "--participant", "id", "--arm", "rx")
    assert ipd("roles", "colon", "--baseline", "age", "--baseline", "sex", "--time", "time", "--status", "status",
               "--repo", tmp_repo.root).exit_code == 0
    report = json.loads(ipd("check", "colon", "--json", "--repo", tmp_repo.root).stdout)
    results = {r["name"]: r for r in report["results"]}
    rows = pd.read_csv(colon)
    assert len(rows) == 1858
    assert results["missing data: by arm"]["details"]["participants_by_arm"] == \
        rows.groupby("rx")["id"].nunique().to_dict() == {"Lev": 310, "Lev+5FU": 304, "Obs": 315}
    assert results["participants: the same arm, dates and baseline on every row"]["success"]
