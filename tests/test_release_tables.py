"""Releases of trials whose participants have several records (real CGD from R's survival package: 128
participants, 203 infection episodes): delivered as two tables, every table goes out under the participants'
release IDs, the records of those excluded by consent with them, dates as days from the participant's
randomisation and verbatim text deleted; delivered as one table of one row an episode, the release keeps that
shape with each participant's own variables protected once. The plan names every decision on the records, and
``verify --rebuild`` rebuilds both releases byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ipd, one_line_error, own_home
from conftest import run as ok
from test_catalogue import catalogue_files
from test_trial_tables import EPISODES, OPTIONS, split

CGD = Path(__file__).parent / "data" / "real" / "cgd.csv"
REFUSED = [5, 17]  # participants who refused sharing: gone from every tier, with their episodes
TIER = "noncommercial"


def released(root: Path, trial: str = "cgd") -> Path:
    return root / f"datasets/{trial}/releases/v1-{TIER}"


def linkage(root: Path, trial: str = "cgd") -> dict[str, int]:
    """Release ID -> the participant's own ID, read straight from the restricted linkage file."""
    table = pd.read_parquet(root / f"datasets/{trial}/linkage/linkage.parquet")
    table = table[table["tier"] == TIER] if "tier" in table.columns else table
    return {r: int(k) for r, k in zip(table["release_id"], table["key"])}


def release(root: Path, trial: str = "cgd") -> None:
    """Consent, a saved proposal, an approval and the non-commercial release, as a curator types them."""
    ok("release", "consent", trial, "--refused", "commercial", "--none", "--reason", "public data", "--repo", root)
    ok("release", "plan", f"{trial}@v1", "--save", "--repo", root)
    ok("release", "approve", f"{trial}@v1", "--by", "Dr A. Director", "--note", "test", "--repo", root)
    ok("release", f"{trial}@v1", "--tier", TIER, "--repo", root)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """CGD as two tables, the episodes with their infection dates and a verbatim note; released once."""
    base = tmp_path_factory.mktemp("release-tables")
    rows = pd.read_csv(CGD)
    episodes = rows[EPISODES].assign(
        infected=(pd.to_datetime(rows["random"]) + pd.to_timedelta(rows["tstop"], unit="D")).dt.date,
        note=[f"seen by the ward team, episode {e} of participant {i}" for i, e in zip(rows["id"], rows["enum"])])
    with own_home(base / "home"):
        root = base / "repo"
        ok("init", root, "--remote", base / "remote", "--catalogue", base / "catalogue.git")
        ok("ingest", "cgd", split(base / "delivery", episodes), *OPTIONS, "--repo", root)
        refused = base / "refused.csv"
        refused.write_text("id\n" + "".join(f"{i}\n" for i in REFUSED))
        ok("release", "consent", "cgd", refused, "--refused", "sharing", "--repo", root)
        release(root)
    return root, episodes


@pytest.fixture(scope="module")
def episodes_table(tmp_path_factory):
    """CGD as delivered by R: one table of one row an episode, keyed by id and enum; released once."""
    base = tmp_path_factory.mktemp("release-rows")
    with own_home(base / "home"):
        root = base / "repo"
        ok("init", root, "--remote", base / "remote")
        ok("ingest", "cgd", CGD, "--key", "id", "--key", "enum", "--participant", "id", "--arm", "treat",
           "--randomised", "random", "--repo", root)
        ok("release", "consent", "cgd", "--refused", "sharing", "--none", "--reason", "public data", "--repo", root)
        release(root)
    return root


def test_the_plan_names_every_decision_on_the_records(tables):
    root, episodes = tables
    plan = json.loads(ok("release", "plan", "cgd@v1", "--json", "--repo", root).stdout)
    kept = episodes[~episodes["id"].isin(REFUSED)]
    decided = [(m["variable"], m["action"], m["parameters"], m["rows_affected"])
               for m in plan["tiers"][TIER]["modifications"] if m["variable"].startswith("episodes.")]
    assert decided == [("episodes.id", "replace", {"by": "release_id"}, len(kept)),
                       ("episodes.infected", "relative", {"reference": "random", "unit": "days"}, len(kept)),
                       ("episodes.note", "delete", {}, len(kept))]
    assert plan["tiers"][TIER]["excluded"] == {"no_sharing": 2, "no_commercial": 0}


def test_every_table_goes_out_under_the_participants_release_ids(tables):
    root, episodes = tables
    folder = released(root)
    ids = linkage(root)
    participants = pd.read_csv(folder / "cgd.csv")
    out = pd.read_csv(folder / "cgd.episodes.csv")
    assert list(out.columns) == ["release_id", "enum", "tstart", "tstop", "status", "infected"]
    assert set(out["release_id"]) == set(participants["release_id"])  # the same IDs, and no one else's
    delivered = pd.read_csv(CGD)
    expected = delivered[~delivered["id"].isin(REFUSED)][["id", "enum", "tstart", "tstop", "status"]]
    got = out.assign(id=out["release_id"].map(ids))[["id", "enum", "tstart", "tstop", "status"]]
    pd.testing.assert_frame_equal(got.sort_values(["id", "enum"]).reset_index(drop=True),
                                  expected.sort_values(["id", "enum"]).reset_index(drop=True))
    # infected was randomisation + tstop days: released as days from randomisation, it is tstop again
    assert (out["infected"] == out["tstop"]).all()
    assert list(out["release_id"]) == sorted(out["release_id"])  # ordered by release ID, then episode
    parquet = pd.read_parquet(folder / "cgd.episodes.parquet")
    assert (len(parquet), list(parquet.columns)) == (len(out), list(out.columns))
    transport = pd.read_sas(folder / "cgd.episodes.xpt", format="xport")
    assert len(transport) == len(out)


def test_the_package_describes_every_table(tables):
    root, episodes = tables
    kept = len(episodes[~episodes["id"].isin(REFUSED)])
    folder = released(root)
    dictionary = yaml.safe_load((folder / "dictionary.yaml").read_text())
    recodings = {c["name"]: c["recoding"] for c in dictionary["tables"]["episodes"]}
    assert list(recodings) == ["release_id", "enum", "tstart", "tstop", "status", "infected"]
    assert recodings["infected"] == "days from the participant's random (negative: before it); no calendar dates"
    package = json.loads((folder / "datapackage.json").read_text())
    schemas = {r["name"]: r.get("schema") for r in package["resources"]}
    assert sorted(schemas) == ["cgd-csv", "cgd-episodes-csv", "cgd-episodes-parquet", "cgd-episodes-xpt",
                               "cgd-parquet", "cgd-xpt"]
    assert schemas["cgd-episodes-csv"]["primaryKey"] == ["release_id", "enum"]
    assert schemas["cgd-episodes-csv"]["foreignKeys"] == [
        {"fields": ["release_id"], "reference": {"fields": ["release_id"], "resource": "cgd-csv"}}]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {"cgd.episodes.csv", "cgd.episodes.parquet", "cgd.episodes.xpt"} <= set(manifest["files"])
    readme = (folder / "README.txt").read_text()
    assert "the trial's other tables hold their records, each under its participant's release_id: episodes: " \
           f"{kept} records, 6 variables (cgd.episodes.csv, .parquet, .xpt)" in readme
    log = pd.read_csv(folder / "modifications.csv")
    assert list(log[log["variable"] == "episodes.note"]["action"]) == ["delete"]


def test_the_catalogue_points_to_every_table_and_a_holder_pulls_them(tables, tmp_path):
    root, episodes = tables
    catalogue = root.parent / "catalogue.git"
    files = catalogue_files(catalogue)
    package = "datasets/cgd/releases/v1-noncommercial"
    assert {f"{package}/cgd.episodes.{fmt}.dvc" for fmt in ("csv", "parquet", "xpt")} <= set(files)
    data = [p for p in files if p.startswith(f"{package}/cgd.") and p.endswith((".csv", ".parquet", ".xpt"))]
    assert not data  # the data are in the release remote only
    dates = {str(d) for d in episodes["infected"]}
    assert not [(path, d) for path, blob in files.items() for d in dates if d.encode() in blob]
    assert not [path for path, blob in files.items() if b"seen by the ward team" in blob]
    out = tmp_path / "pulled"
    pulled = ok("pull", "cgd@v1", "--tier", TIER, "--from", catalogue, "--out", out)
    assert "every file verified" in pulled.stdout
    assert (out / "cgd.episodes.parquet").read_bytes() == (released(root) / "cgd.episodes.parquet").read_bytes()


def test_verify_rebuilds_the_release_of_several_tables(tables, tmp_path):
    root, _ = tables
    assert ok("verify", "--rebuild", "--repo", root).stdout.strip().endswith("verified")
    copy = tmp_path / "repo"
    shutil.copytree(root, copy, symlinks=True)
    record = copy / "datasets/cgd/releases/v1-noncommercial.json"
    data = json.loads(record.read_text())
    data["files"]["cgd.episodes.csv"] = "0" * 64
    record.write_text(json.dumps(data, indent=2) + "\n")
    found = ipd("verify", "--rebuild", "--repo", copy)
    assert found.exit_code != 0
    assert f"file cgd.episodes.csv of release cgd@v1 ({TIER}): rebuilt, has SHA-256" in found.stdout + found.stderr


def test_a_rule_protecting_a_column_of_the_records_is_refused(tables, tmp_path):
    root, _ = tables
    copy = tmp_path / "repo"
    shutil.copytree(root, copy, symlinks=True)
    path = copy / "datasets/cgd/dataset.yaml"
    metadata = yaml.safe_load(path.read_text())
    metadata["release"]["quasi_identifiers"]["tstop"] = {"action": "topcode"}
    path.write_text(yaml.safe_dump(metadata, sort_keys=False))
    refused = ipd("release", "plan", "cgd", "--repo", copy)
    assert refused.exit_code == 2
    assert one_line_error(refused.stderr) == (
        "error: release.quasi_identifiers.tstop: episodes.tstop varies between a participant's records, and only "
        "the participant's own columns can be protected; delete it or keep it in the release rules")


def test_one_table_of_episodes_is_released_one_row_an_episode(episodes_table):
    root = episodes_table
    out = pd.read_csv(released(root) / "cgd.csv")
    delivered = pd.read_csv(CGD)
    assert len(out) == len(delivered) == 203
    assert list(out.columns) == ["release_id", "center", "treat", "sex", "age", "height", "weight", "propylac",
                                 "tstart", "enum", "tstop", "status"]
    got = out.assign(id=out["release_id"].map(linkage(root)))
    merged = got.merge(delivered, on=["id", "enum"], suffixes=("", "_delivered"))
    assert len(merged) == 203
    for column in ("tstart", "tstop", "status", "treat", "propylac"):
        assert (merged[column] == merged[f"{column}_delivered"]).all(), column
    # a participant's own variables, protected once, are the same on every one of their rows
    per_participant = out.groupby("release_id")[["center", "sex", "age", "height", "weight"]].nunique(dropna=False)
    assert (per_participant <= 1).all().all()
    record = json.loads((root / "datasets/cgd/releases/v1-noncommercial.json").read_text())
    assert record["rows"] == 128
    package = json.loads((released(root) / "datapackage.json").read_text())
    (table,) = [r for r in package["resources"] if r["name"] == "cgd-csv"]
    assert table["schema"]["primaryKey"] == ["release_id", "enum"]
    assert table["description"] == "203 records of 128 participants, identified by release_id, enum"
    assert ok("verify", "--rebuild", "--repo", root).stdout.strip().endswith("verified")


def release_v2(root: Path) -> dict:
    """v2 planned, approved and released; its release notes as JSON."""
    ok("commit", "cgd", "-m", "query round 1", "--repo", root)
    ok("release", "plan", "cgd@v2", "--repo", root)
    ok("release", "approve", "cgd@v2", "--by", "Dr A. Director", "--note", "test", "--repo", root)
    ok("release", "cgd@v2", "--tier", TIER, "--repo", root)
    return json.loads(ok("release", "notes", "cgd@v2", "--tier", TIER, "--json", "--repo", root).stdout)


def release_id_of(root: Path, participant: int) -> str:
    return next(r for r, k in linkage(root).items() if k == participant)


def test_the_notes_of_the_next_release_name_the_changed_record_of_another_table(tables, tmp_path):
    root, _ = tables
    copy = tmp_path / "repo"
    shutil.copytree(root, copy, symlinks=True)
    ok("correct", "cgd", "--table", "episodes", "--key", "1", "--key", "2", "--column", "tstop", "--value", "270",
       "--reason", "CRF page 12", "--public-reason", "a transcription error", "--repo", copy)
    notes = release_v2(copy)
    assert notes["changes"] == [{"change": "cell", "release_id": release_id_of(copy, 1), "record": "enum=2",
                                 "table": "episodes", "column": "tstop", "old": "373", "new": "270",
                                 "reason": "a transcription error"}]
    markdown = ok("release", "notes", "cgd@v2", "--tier", TIER, "--repo", copy).stdout
    assert f"| {release_id_of(copy, 1)} (enum=2) | episodes.tstop | 373 | 270 | a transcription error |" \
        in markdown


def test_the_notes_of_a_release_of_one_row_an_episode_name_the_record(episodes_table, tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(episodes_table, copy, symlinks=True)
    ok("correct", "cgd", "--key", "1", "--key", "2", "--column", "tstop", "--value", "270", "--reason", "CRF page 12",
       "--public-reason", "a transcription error", "--repo", copy)
    notes = release_v2(copy)
    assert notes["changes"] == [{"change": "cell", "release_id": release_id_of(copy, 1), "record": "enum=2",
                                 "column": "tstop", "old": "373", "new": "270", "reason": "a transcription error"}]


def pulled(root: Path, tmp_path: Path) -> Path:
    out = tmp_path / "held"
    ok("pull", "cgd@v1", "--tier", TIER, "--from", root, "--out", out)
    return out


def test_a_holder_proposes_a_date_of_another_table_and_the_curator_gets_the_calendar_date(tables, tmp_path):
    root, episodes = tables
    copy = tmp_path / "repo"
    shutil.copytree(root, copy, symlinks=True)
    held = pulled(copy, tmp_path)
    rid = release_id_of(copy, 1)
    proposal = tmp_path / "proposal.json"
    ok("query", "propose", held, "--table", "episodes", "--id", rid, "--record", "enum=2", "--column", "infected",
       "--value", "370", "--text", "the second infection was on day 370", "--out", proposal, "--requestor", "R <r@x.org>")
    (query,) = json.loads(ok("query", "import", proposal, "--json", "--repo", copy).stdout)["queries"]
    randomised = pd.read_csv(CGD).query("id == 1")["random"].iloc[0]
    expected = (pd.Timestamp(randomised) + pd.Timedelta(days=370)).date().isoformat()
    assert (query["table"], query["key"], query["column"]) == ("episodes", [1, 2], "infected")
    assert (query["origin"]["released"], query["origin"]["stored"]) == (373, expected)


def test_a_holder_proposes_a_value_of_one_episode_of_many(episodes_table, tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(episodes_table, copy, symlinks=True)
    held = pulled(copy, tmp_path)
    rid = release_id_of(copy, 1)
    proposal = tmp_path / "proposal.json"
    vague = ipd("query", "propose", held, "--id", rid, "--column", "tstop", "--value", "370", "--text", "x",
                "--out", proposal, "--requestor", "R <r@x.org>")
    episodes = len(pd.read_csv(CGD).query("id == 1"))
    assert one_line_error(vague.stderr) == (f"error: {held / 'cgd.parquet'} has {episodes} records of {rid}: name one "
                                            "with --record COLUMN=VALUE (the rest of its key)")
    ok("query", "propose", held, "--id", rid, "--record", "enum=2", "--column", "tstop", "--value", "370",
       "--text", "x", "--out", proposal, "--requestor", "R <r@x.org>")
    (query,) = json.loads(ok("query", "import", proposal, "--json", "--repo", copy).stdout)["queries"]
    assert (query["key"], query["column"], query["origin"]["stored"]) == ([1, 2], "tstop", 370)
