"""A trial delivered as several tables (real CGD from R's survival package, split as trialists deliver it: a
participant table of 128 rows and an episode table of 203 rows sharing ``id``): one version covers every
table, each stored, fingerprinted, checked, verified and rebuilt; the checks across tables name the episode
rows whose participant is unknown or whose date precedes randomisation; a re-delivery says what changed in
each table; a delivery of one table works as ever."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import git, ipd, one_line_error, own_home
from conftest import run as ok

CGD = Path(__file__).parent / "data" / "real" / "cgd.csv"
BASELINE = ["id", "center", "random", "treat", "sex", "age", "height", "weight", "inherit", "steroids", "propylac",
            "hos.cat"]
EPISODES = ["id", "enum", "tstart", "tstop", "status"]
OPTIONS = ("--key", "id", "--participant-table", "participants", "--table-key", "episodes=id,enum",
           "--arm", "treat", "--randomised", "random")


def split(folder: Path, episodes: pd.DataFrame | None = None) -> Path:
    """CGD as two tables in ``folder``: one row a participant, and the episodes with their infection dates."""
    rows = pd.read_csv(CGD)
    folder.mkdir(parents=True, exist_ok=True)
    rows.drop_duplicates("id")[BASELINE].to_csv(folder / "participants.csv", index=False)
    if episodes is None:
        episodes = rows[EPISODES].assign(
            infected=(pd.to_datetime(rows["random"]) + pd.to_timedelta(rows["tstop"], unit="D")).dt.date)
    episodes.to_csv(folder / "episodes.csv", index=False)
    return folder


def episodes_of(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "episodes.csv")


@pytest.fixture(scope="module")
def cgd(tmp_path_factory):
    """CGD delivered as a folder of two tables; read-only for the tests that share it."""
    base = tmp_path_factory.mktemp("tables")
    with own_home(base / "home"):
        root = base / "repo"
        ok("init", root, "--remote", base / "remote")
        ingested = ok("ingest", "cgd", split(base / "delivery"), *OPTIONS, "--repo", root)
    return root, ingested


def test_one_version_covers_every_table(cgd):
    root, ingested = cgd
    assert ingested.stdout.startswith("cgd@v1: delivery of 128 rows × 12 columns")
    assert ingested.stdout.splitlines()[1].startswith("  table episodes: 203 rows × 6 columns, key (id, enum), "
                                                      "fingerprint ")
    record = json.loads((root / "datasets/cgd/versions/v1.json").read_text())
    assert (record["participant_table"], record["rows"], record["key"]) == ("participants", 128, "id")
    (episodes,) = record["tables"]
    assert (episodes["name"], episodes["key"], episodes["participant"], episodes["rows"]) == \
        ("episodes", ["id", "enum"], "id", 203)
    assert episodes["columns"] == [*EPISODES, "infected"]
    metadata = yaml.safe_load((root / "datasets/cgd/dataset.yaml").read_text())
    assert metadata["participant_table"] == "participants"
    assert (metadata["tables"]["episodes"]["key"], metadata["tables"]["episodes"]["participant"]) == \
        (["id", "enum"], "id")
    assert [c["name"] for c in metadata["tables"]["episodes"]["columns"]] == [*EPISODES, "infected"]
    assert (root / "expectations/cgd/episodes.json").is_file()
    assert sorted(p.name for p in (root / "datasets/cgd/tables/episodes").iterdir()) == ["part-00000.parquet"]
    shown = ipd("show", "cgd", "--repo", root).stdout
    assert "table        participants: the participant table (the rows above)" in shown
    assert "table        episodes: 203 × 6 columns, key (id, enum)" in shown


def test_every_table_is_checked_and_the_checks_across_tables_pass(cgd):
    root, _ = cgd
    report = json.loads(ipd("check", "cgd", "--json", "--repo", root).stdout)
    names = [r["name"] for r in report["results"] if r["kind"] == "table"]
    assert "episodes: expect_compound_columns_to_be_unique(id, enum)" in names
    assert names[-1] == "episodes: every record's participant is in the participant table"
    assert all(r["success"] for r in report["results"] if r["kind"] == "table")
    arms = next(r for r in report["results"] if r["name"] == "missing data: by arm")
    assert arms["details"]["participants_by_arm"] == {"placebo": 65, "rIFN-g": 63}


def test_records_of_unknown_participants_and_dates_before_randomisation_are_named(tmp_repo, tmp_path):
    episodes = episodes_of(split(tmp_path / "a"))
    episodes.loc[(episodes.id == 4) & (episodes.enum == 1), "id"] = 999  # no such participant
    episodes.loc[(episodes.id == 2) & (episodes.enum == 3), "infected"] = "1988-01-01"  # before randomisation
    delivery = split(tmp_path / "b", episodes)
    tmp_repo.ingest("cgd", delivery, *OPTIONS)
    root = tmp_repo.root
    before = tmp_repo.state()
    wrong = ipd("roles", "cgd", "--table", "episodes", "--events", "tstop", "--repo", root)
    assert one_line_error(wrong.stderr) == "error: tables.episodes.events: column 'tstop' is integer, not a date"
    assert tmp_repo.state() == before
    declared = ok("roles", "cgd", "--table", "episodes", "--events", "infected", "--repo", root)
    assert declared.stdout.strip() == "cgd: table episodes: events infected"
    assert yaml.safe_load((root / "datasets/cgd/dataset.yaml").read_text())["tables"]["episodes"]["events"] == \
        ["infected"]
    assert git(root, "status", "--porcelain") == ""
    report = json.loads(ipd("check", "cgd", "--json", "--repo", root).stdout)
    found = {r["name"]: (r["unexpected_count"], r["unexpected_keys"]) for r in report["results"]
             if r["kind"] == "table" and not r["success"]}
    assert found == {
        "episodes: every record's participant is in the participant table": (1, [[999, 1]]),
        "episodes: dates: randomised (random) on or before event (infected)": (1, [[2, 3]]),
    }


def test_every_table_is_verified_and_rebuilt_from_the_delivery(cgd):
    root, _ = cgd
    verified = ipd("verify", "--rebuild", "--repo", root, "--json")
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["problems"] == []


def test_a_damaged_part_of_another_table_is_named(cgd, tmp_path):
    root, _ = cgd
    copy = tmp_path / "repo"
    shutil.copytree(root, copy, symlinks=True)
    record = json.loads((copy / "datasets/cgd/versions/v1.json").read_text())
    md5 = record["tables"][0]["parts"][0]["md5"]
    cached = copy / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes()[:-8] + b"\0" * 8)
    verified = ipd("verify", "--repo", copy, "--json")
    problems = json.loads(verified.stdout)["problems"]
    assert any(p["object"] == "part part-00000.parquet of cgd@v1 table episodes in the DVC cache" for p in problems)


def test_a_redelivery_says_what_changed_in_each_table(tmp_repo, tmp_path):
    tmp_repo.ingest("cgd", split(tmp_path / "a"), *OPTIONS)
    episodes = episodes_of(tmp_path / "a")
    episodes.loc[(episodes.id == 1) & (episodes.enum == 2), "tstop"] = 370
    again = tmp_repo.ingest("cgd", split(tmp_path / "b", episodes))
    assert again.stdout.startswith("cgd@v2: re-delivery of 128 rows")
    record = json.loads((tmp_repo.root / "datasets/cgd/versions/v2.json").read_text())
    assert record["changes"]["cells"] == 0
    assert record["changes"]["tables"] == {"episodes": {"cells": 1, "added": 0, "removed": 0,
                                                       "columns_added": [], "columns_removed": []}}
    diff = json.loads(ipd("diff", "cgd@v1", "cgd@v2", "--json", "--repo", tmp_repo.root).stdout)
    assert diff["cells"] == [] and [(c["key"], c["column"], c["old"], c["new"])
                                    for c in diff["tables"]["episodes"]["cells"]] == [([1, 2], "tstop", 373, 370)]
    assert "table episodes" in ipd("diff", "cgd@v1", "cgd@v2", "--repo", tmp_repo.root).stdout
    same = tmp_repo.ipd("ingest", "cgd", split(tmp_path / "b", episodes))
    assert same.exit_code == 2 and "nothing new to ingest" in one_line_error(same.stderr)


def test_a_zip_of_tables_is_a_delivery(tmp_repo, tmp_path):
    folder = split(tmp_path / "a")
    archive = tmp_path / "cgd.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("participants.csv", "episodes.csv"):
            zipped.write(folder / name, name)
    tmp_repo.ingest("cgd", archive, *OPTIONS)
    record = json.loads((tmp_repo.root / "datasets/cgd/versions/v1.json").read_text())
    assert (record["rows"], record["tables"][0]["rows"]) == (128, 203)


@pytest.mark.parametrize("options, message", [
    (("--key", "id"), "{delivery}: holds 2 tables (episodes, participants): name the one of one row a participant "
                      "with --participant-table"),
    (("--key", "id", "--participant-table", "visits"),
     "{delivery}: no table 'visits' to be the participant table; the tables are episodes, participants"),
    (("--key", "id", "--participant-table", "participants"),
     "{delivery}: table episodes: name its key with --table-key episodes=id,COLUMN (the columns that pick one of "
     "its rows)"),
    (("--key", "id", "--participant-table", "participants", "--table-key", "episodes=enum"),
     "{delivery}: table episodes: its key enum must include the participant column 'id'"),
    (("--key", "id", "--participant-table", "participants", "--table-key", "episodes=id"),
     "{delivery} (table episodes): key 'id' is not unique: 44 repeated value(s): 1 in rows 1, 2, 3; 2 in rows 4, 5, "
     "6, 7, 8, 9, 10, 11; 5 in rows 14, 15, 16; 7 in rows 18, 19; 9 in rows 21, 22; and 39 more"),
    (("--key", "id", "--participant-table", "participants", "--table-key", "visits=id,visit"),
     "--table-key visits: {delivery} has no table 'visits'; its other tables are episodes"),
])
def test_a_delivery_of_several_tables_that_cannot_be_keyed_is_refused(tmp_repo, tmp_path, options, message):
    delivery = split(tmp_path / "delivery")
    before = tmp_repo.state()
    result = tmp_repo.ipd("ingest", "cgd", delivery, *options)
    assert result.exit_code == 2
    assert one_line_error(result.stderr) == "error: " + message.format(delivery=delivery)
    assert tmp_repo.state() == before


def test_a_redelivery_must_hold_every_table(tmp_repo, tmp_path):
    tmp_repo.ingest("cgd", split(tmp_path / "a"), *OPTIONS)
    alone = tmp_path / "b"
    alone.mkdir()
    shutil.copy(tmp_path / "a" / "participants.csv", alone / "participants.csv")
    before = tmp_repo.state()
    result = tmp_repo.ipd("ingest", "cgd", alone)
    assert one_line_error(result.stderr) == (
        f"error: {alone}: no table 'episodes', which the trial has: a re-delivery holds every table "
        "(the tables are participants)")
    assert tmp_repo.state() == before


def test_a_correction_to_the_participant_table_keeps_the_other_tables(tmp_repo, tmp_path):
    root = tmp_repo.root
    tmp_repo.ingest("cgd", split(tmp_path / "a"), *OPTIONS)
    ok("correct", "cgd", "--key", "1", "--column", "age", "--value", "13", "--reason", "CRF", "--repo", root)
    ok("commit", "cgd", "-m", "query round 1", "--repo", root)
    v1, v2 = (json.loads((root / f"datasets/cgd/versions/{v}.json").read_text()) for v in ("v1", "v2"))
    assert v2["tables"] == v1["tables"] and v2["participant_table"] == "participants"
    report = json.loads(ipd("check", "cgd", "--json", "--repo", root).stdout)
    assert "episodes: every record's participant is in the participant table" in [r["name"] for r in report["results"]]


def test_corrections_name_another_table_and_a_removed_participant_leaves_every_table(tmp_repo, tmp_path):
    root = tmp_repo.root
    tmp_repo.ingest("cgd", split(tmp_path / "a"), *OPTIONS)
    ok("correct", "cgd", "--table", "episodes", "--key", "1", "--key", "2", "--column", "tstop", "--value", "370",
       "--reason", "CRF", "--repo", root)
    staged = json.loads(ok("correct", "cgd", "--key", "2", "--remove", "--reason", "withdrew consent", "--json",
                           "--repo", root).stdout)
    rows = pd.read_csv(CGD)
    second = rows[rows.id == 2].sort_values("enum")
    assert [(e["table"], e["action"], e["key"]) for e in staged] == [
        (None, "remove", 2), *(("episodes", "remove", [2, int(n)]) for n in second["enum"])]
    committed = ok("commit", "cgd", "-m", "query round 1", "--repo", root)
    v2 = json.loads((root / "datasets/cgd/versions/v2.json").read_text())
    assert (v2["rows"], v2["tables"][0]["rows"]) == (127, 203 - len(second))
    assert committed.stdout.splitlines()[1] == \
        f"  table episodes: {203 - len(second)} rows, fingerprint {v2['tables'][0]['fingerprint'][7:19]}"
    assert v2["changes"]["tables"] == {"episodes": {"cells": 1, "added": 0, "removed": len(second),
                                                   "columns_added": [], "columns_removed": []}}
    diff = json.loads(ipd("diff", "cgd@v1", "cgd@v2", "--json", "--repo", root).stdout)
    episodes = diff["tables"]["episodes"]
    assert [(c["key"], c["old"], c["new"], c["correction"]) for c in episodes["cells"]] == [([1, 2], 373, 370, "c1")]
    assert episodes["explained"]["removed"][0] == {"key": [2, 1], "correction": "c3"}
    log = [json.loads(line) for line in (root / "datasets/cgd/corrections.jsonl").read_text().splitlines()]
    assert [e.get("table") for e in log] == ["episodes", None, *["episodes"] * len(second)]
    now = rows[rows.id != 2][EPISODES].copy()
    now.loc[(now.id == 1) & (now.enum == 2), "tstop"] = 370
    dictionary = yaml.safe_load((root / "datasets/cgd/dataset.yaml").read_text())["tables"]["episodes"]["columns"]
    tstop = next(c for c in dictionary if c["name"] == "tstop")
    assert (tstop["distinct"], tstop["min"], tstop["max"]) == (now.tstop.nunique(), now.tstop.min(), now.tstop.max())
    report = json.loads(ipd("check", "cgd", "--json", "--repo", root).stdout)
    assert all(r["success"] for r in report["results"] if r["kind"] == "table")
    validated = ipd("validate", "--repo", root, "--json")
    assert validated.exit_code == 0, validated.stdout[-2000:]
    rebuilt = ipd("verify", "--rebuild", "--repo", root, "--json")
    assert json.loads(rebuilt.stdout)["problems"] == []


def test_a_pull_writes_every_table(cgd, tmp_path):
    root, _ = cgd
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    out = tmp_path / "out"
    ok("pull", "cgd@v1", "--from", clone, "--out", out, "--format", "csv")
    assert len(pd.read_csv(out / "cgd.csv")) == 128
    episodes = pd.read_csv(out / "cgd.episodes.csv")
    assert (len(episodes), list(episodes.columns)) == (203, [*EPISODES, "infected"])


def test_pbc_and_its_laboratory_visits_delivered_as_a_workbook_of_two_sheets(tmp_repo, tmp_path):
    """Real PBC: 418 participants (106 not randomised) and 1,945 laboratory visits of the 312 randomised."""
    real = CGD.parent
    book = tmp_path / "pbc.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        pd.read_csv(real / "pbc.csv").to_excel(writer, sheet_name="pbc", index=False)
        pd.read_csv(real / "pbcseq.csv").to_excel(writer, sheet_name="visits", index=False)
    ingested = tmp_repo.ingest("pbc", book, "--key", "id", "--participant-table", "pbc",
                               "--table-key", "visits=id,day")
    assert ingested.stdout.startswith("pbc@v1: delivery of 418 rows × 20 columns")
    record = json.loads((tmp_repo.root / "datasets/pbc/versions/v1.json").read_text())
    (visits,) = record["tables"]
    assert (visits["name"], visits["rows"], visits["key"]) == ("visits", 1945, ["id", "day"])
    report = json.loads(ipd("check", "pbc", "--json", "--repo", tmp_repo.root).stdout)
    known = next(r for r in report["results"] if r["name"] == "visits: every record's participant is in the "
                                                            "participant table")
    assert known["success"] and pd.read_csv(real / "pbcseq.csv")["id"].isin(pd.read_csv(real / "pbc.csv")["id"]).all()


def test_queries_name_another_table(tmp_repo, tmp_path):
    root = tmp_repo.root
    episodes = episodes_of(split(tmp_path / "a"))
    episodes.loc[(episodes.id == 4) & (episodes.enum == 1), "id"] = 999
    tmp_repo.ingest("cgd", split(tmp_path / "b", episodes), *OPTIONS)
    opened = ok("query", "open", "cgd", "--table", "episodes", "--key", "1", "--key", "2", "--column", "tstop",
                "--text", "373 days?", "--repo", root)
    assert opened.stdout.strip() == "cgd-q1 opened: table episodes, key (1, 2), column tstop"
    missing = ipd("query", "open", "cgd", "--table", "visits", "--key", "1", "--text", "x", "--repo", root)
    assert one_line_error(missing.stderr) == "error: cgd@v1 has no table 'visits'; its tables are participants, episodes"
    assert ipd("check", "cgd", "--open-queries", "--repo", root).exit_code == 1  # a check fails
    listed = json.loads(ok("query", "list", "cgd", "--json", "--repo", root).stdout)
    assert [(q["table"], q["key"], q["check"]) for q in listed] == [
        ("episodes", [1, 2], None),
        ("episodes", [999, 1], "episodes: every record's participant is in the participant table")]


def test_a_pinned_pull_is_told_what_changed_in_the_participant_table_and_the_others(tmp_repo, tmp_path):
    root = tmp_repo.root
    tmp_repo.ingest("cgd", split(tmp_path / "a"), *OPTIONS)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    out = tmp_path / "out"
    ok("pull", "cgd@v1", "--from", clone, "--out", out)
    ok("correct", "cgd", "--table", "episodes", "--key", "1", "--key", "2", "--column", "tstop", "--value", "370",
       "--reason", "CRF", "--repo", root)
    ok("correct", "cgd", "--key", "3", "--column", "age", "--value", "9", "--reason", "CRF", "--repo", root)
    ok("commit", "cgd", "-m", "query round 1", "--repo", root)
    git(clone, "pull", "-q")
    status = json.loads(ipd("status", out, "--json").stdout)
    assert (status["latest"], status["cells_changed"], status["records_removed"]) == ("v2", 1, 0)
    assert "table episodes: 1 correction(s) too (the counts above are the participant table's)" in status["notes"]


def test_a_variable_from_a_file_joins_another_table(tmp_repo, tmp_path):
    root = tmp_repo.root
    tmp_repo.ingest("cgd", split(tmp_path / "a"), *OPTIONS)
    supplied = tmp_path / "organism.csv"
    supplied.write_text("id,enum,organism\n1,1,Staphylococcus\n2,3,Serratia\n")
    staged = json.loads(ok("correct", "cgd", "--table", "episodes", "--add-column", supplied, "--reason", "supplied",
                           "--json", "--repo", root).stdout)
    assert [(e["table"], e["action"], e["column"]) for e in staged] == [("episodes", "add_column", "organism")]
    ok("commit", "cgd", "-m", "organisms", "--repo", root)
    v2 = json.loads((root / "datasets/cgd/versions/v2.json").read_text())
    assert v2["tables"][0]["columns"] == [*EPISODES, "infected", "organism"] and v2["columns"] == BASELINE
    dictionary = yaml.safe_load((root / "datasets/cgd/dataset.yaml").read_text())["tables"]["episodes"]["columns"]
    assert next(c for c in dictionary if c["name"] == "organism")["note"].startswith("supplied later by the trialists")
    suite = json.loads((root / "expectations/cgd/episodes.json").read_text())
    columns = next(e for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set")
    assert columns["kwargs"]["column_set"][-1] == "organism" and git(root, "status", "--porcelain") == ""
    assert json.loads(ipd("verify", "--rebuild", "--repo", root, "--json").stdout)["problems"] == []


def test_the_suite_of_another_table_is_curated_with_ipd_expect(tmp_repo, tmp_path):
    root = tmp_repo.root
    tmp_repo.ingest("cgd", split(tmp_path / "a"), *OPTIONS)
    added = ok("expect", "add", "cgd", "expect_column_values_to_be_between", "column=tstop", "min_value=0",
               "max_value=300", "--table", "episodes", "--repo", root)
    listed = json.loads(ok("expect", "list", "cgd", "--table", "episodes", "--json", "--repo", root).stdout)
    assert added.stdout.strip() == f"expectations/cgd/episodes.json: added expectation {len(listed)}, " \
                                   "expect_column_values_to_be_between"
    assert git(root, "log", "-1", "--format=%s") == \
        "cgd: expect expect_column_values_to_be_between(tstop) on table episodes"
    report = json.loads(ipd("check", "cgd", "--json", "--repo", root).stdout)
    found = [r for r in report["results"] if r["name"] == "episodes: expect_column_values_to_be_between(tstop)"][-1]
    rows = pd.read_csv(CGD)
    over = rows[rows.tstop > 300].sort_values(["id", "enum"])
    assert (found["unexpected_count"], found["unexpected_keys"][:3]) == \
        (len(over), [[int(i), int(e)] for i, e in over[["id", "enum"]].values[:3]])
    wrong = ipd("expect", "add", "cgd", "expect_column_values_to_not_be_null", "column=age", "--table", "episodes",
                "--repo", root)
    assert one_line_error(wrong.stderr).startswith("error: expectations/cgd/episodes.json")
    missing = ipd("expect", "list", "cgd", "--table", "visits", "--repo", root)
    assert one_line_error(missing.stderr) == "error: cgd has no other table 'visits' (its other tables: episodes)"


def test_a_redelivery_and_a_table_correction_refused_at_the_last_step_leave_everything_as_it_was(tmp_repo,
                                                                                                 tmp_path):
    """Refused by a git hook once every table's parts are written, stored and pushed: nothing stays."""
    root = tmp_repo.root
    tmp_repo.ingest("cgd", split(tmp_path / "a"), *OPTIONS)
    ok("correct", "cgd", "--table", "episodes", "--key", "1", "--key", "2", "--column", "tstop", "--value", "370",
       "--reason", "CRF", "--repo", root)
    hook = root / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    episodes = episodes_of(tmp_path / "a")
    episodes.loc[(episodes.id == 1) & (episodes.enum == 1), "tstop"] = 218
    before = tmp_repo.state()
    for command in (("ingest", "cgd", split(tmp_path / "b", episodes), "--repo", root),
                    ("commit", "cgd", "-m", "query round 1", "--repo", root)):
        result = ipd(*command)
        assert result.exit_code != 0 and "refused by policy" in one_line_error(result.stderr)
        assert tmp_repo.state() == before
    hook.unlink()
    ok("verify", "--repo", root)
    ok("commit", "cgd", "-m", "query round 1", "--repo", root)
    assert json.loads((root / "datasets/cgd/versions/v2.json").read_text())["changes"]["tables"]["episodes"]["cells"] == 1


def test_a_correction_of_another_table_is_checked_again_at_commit(tmp_repo, tmp_path):
    root = tmp_repo.root
    episodes = episodes_of(split(tmp_path / "a"))
    episodes.loc[(episodes.id == 4) & (episodes.enum == 1), "id"] = 999
    tmp_repo.ingest("cgd", split(tmp_path / "b", episodes), *OPTIONS)
    ok("correct", "cgd", "--table", "episodes", "--key", "999", "--key", "1", "--remove", "--reason", "no such "
       "participant", "--repo", root)
    committed = ok("commit", "cgd", "-m", "query round 1", "--repo", root)
    assert "  fixed: episodes: every record's participant is in the participant table" in committed.stdout
    report = json.loads(ipd("check", "cgd", "--json", "--repo", root).stdout)
    assert all(r["success"] for r in report["results"] if r["kind"] == "table")
