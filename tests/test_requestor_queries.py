"""Corrections found by release holders flow back: a holder of a real GBSG-2 release (lifelines) proposes queries
against what they hold (release IDs, days from the reference date), the curator imports them as ordinary queries
mapped to participants and calendar dates, answers and corrects them, and the next release credits the finding;
the holder's ``ipd status`` says their copy is superseded, and ``ipd pull --upgrade`` brings the correction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import GBSG2, git, ipd, one_line_error, own_home
from support.releases import copy_zones

from conftest import run as ok
from repo.requestor.proposal import Finding, Proposal, read

HOLDER = "Dr R. Holder <holder@example.org>"
TIER = "noncommercial"


def release(root: Path, version: str) -> None:
    ok("release", "plan", f"gbsg2@{version}", "--save", "--replace", "--repo", root)
    ok("release", "approve", f"gbsg2@{version}", "--by", "Dr A. Director", "--note", "test", "--repo", root)
    ok("release", f"gbsg2@{version}", "--tier", TIER, "--repo", root)


@pytest.fixture(scope="module")
def zones(tmp_path_factory) -> Path:
    """A curation repository with GBSG-2 v1 released to its catalogue, and a holder's copy pulled from it."""
    base = tmp_path_factory.mktemp("requestor") / "base"
    with own_home(base.parent / "home"):
        root = base / "curation"
        ok("init", root, "--remote", base / "restricted", "--catalogue", base / "catalogue.git")
        ok("ingest", "gbsg2", GBSG2, "--key", "id", "--arm", "hormone", "--randomised", "diagdateb", "--repo", root)
        for refused in ("sharing", "commercial"):
            ok("release", "consent", "gbsg2", "--refused", refused, "--none", "--reason", "public data", "--repo", root)
        release(root, "v1")
        ok("pull", "gbsg2@v1", "--tier", TIER, "--from", base / "catalogue.git", "--out", base / "holder")
    return base


def release_id(root: Path, participant: int) -> str:
    linkage = pd.read_parquet(root / "datasets/gbsg2/linkage/linkage.parquet")
    return linkage[(linkage["key"] == participant) & (linkage["tier"] == TIER)]["release_id"].item()


def held(holder: Path, rid: str) -> dict:
    rows = pd.read_parquet(holder / "gbsg2.parquet")
    return rows[rows["release_id"] == rid].iloc[0].to_dict()


def delivered(participant: int) -> dict:
    rows = pd.read_csv(GBSG2)
    return rows[rows["id"] == participant].iloc[0].to_dict()


def day(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d-%m-%Y").date()


def test_the_round_trip(zones, tmp_path):
    base = copy_zones(zones, tmp_path / "base")
    root, holder, catalogue = base / "curation", base / "holder", base / "catalogue.git"
    first, duplicate = release_id(root, 1), release_id(root, 2)
    recdate = int(held(holder, first)["recdate"])  # days from diagdateb, as released
    proposal = tmp_path / "proposal.json"
    ok("query", "propose", holder, "--id", first, "--column", "recdate", "--value", str(recdate + 10),
       "--text", "recurrence 10 days later on the CRF", "--out", proposal, "--requestor", HOLDER)
    ok("query", "propose", holder, "--id", duplicate, "--text", f"the same participant as {first}?",
       "--out", proposal, "--requestor", HOLDER)
    ok("query", "propose", holder, "--request-variable", "her2", "--text", "HER2 status for a subgroup analysis",
       "--out", proposal, "--requestor", HOLDER)
    assert len(read(proposal).findings) == 3

    published = git(catalogue, "rev-parse", "main")
    imported = json.loads(ok("query", "import", proposal, "--json", "--repo", root).stdout)
    assert git(catalogue, "rev-parse", "main") == published  # nothing of the import reaches the catalogue
    q1, q2, q3 = imported["queries"]
    expected = day(delivered(1)["diagdateb"]) + dt.timedelta(days=recdate + 10)
    assert (q1["query"], q1["key"], q1["column"]) == ("gbsg2-q1", 1, "recdate")
    assert q1["origin"] | {"proposal": None} == {
        "requestor": HOLDER, "proposal": None, "finding": 1, "release": f"gbsg2@v1 ({TIER} release)",
        "release_id": first, "released": recdate, "proposed": str(recdate + 10), "stored": expected.isoformat()}
    assert (q2["key"], q2["column"], q2["origin"]["release_id"]) == (2, None, duplicate)
    assert (q3["key"], q3["origin"]["request_variable"]) == (None, "her2")
    listed = json.loads(ok("query", "list", "--from", "holder@example", "--json", "--repo", root).stdout)
    assert [q["query"] for q in listed] == ["gbsg2-q1", "gbsg2-q2", "gbsg2-q3"]
    again = ipd("query", "import", proposal, "--repo", root)
    assert one_line_error(again.stderr) == f"error: {proposal} was imported already (gbsg2-q1, gbsg2-q2, gbsg2-q3)"

    exported = tmp_path / "for-the-trialists.csv"
    ok("query", "export", "gbsg2", "--out", exported, "--repo", root)
    rows = pd.read_csv(exported)
    assert list(rows["query"]) == ["gbsg2-q1", "gbsg2-q2"]  # the variable request is the curator's to settle
    assert rows["question"][0] == f"recurrence 10 days later on the CRF (proposed value: {expected.isoformat()})"

    ok("query", "answer", "gbsg2-q1", "--text", "CRF confirms", "--repo", root)
    ok("correct", "gbsg2", "--key", "1", "--column", "recdate", "--value", expected.isoformat(), "--reason",
       "CRF page 3", "--public-reason", "recurrence date corrected from the CRF", "--query", "gbsg2-q1",
       "--repo", root)
    ok("correct", "gbsg2", "--key", "2", "--remove", "--reason", "duplicate enrolment", "--query", "gbsg2-q2",
       "--repo", root)
    ok("commit", "gbsg2", "-m", "a release holder's findings", "--repo", root)
    entries = [json.loads(line) for line in (root / "datasets/gbsg2/corrections.jsonl").read_text().splitlines()]
    assert [(e["query"], e["action"]) for e in entries] == [("gbsg2-q1", "update"), ("gbsg2-q2", "remove")]
    prov = json.loads((root / "provenance/gbsg2/v2.json").read_text())
    queries = {k: v for k, v in prov["entity"].items() if v.get("prov:type") == "ipd:RequestorQuery"}
    assert sorted(queries) == ["ipd:gbsg2/queries.jsonl#gbsg2-q1", "ipd:gbsg2/queries.jsonl#gbsg2-q2"]
    assert "ipd:requestor/holder@example.org" in prov["agent"]

    release(root, "v2")
    notes = json.loads(ok("release", "notes", "gbsg2@v2", "--tier", TIER, "--json", "--repo", root).stdout)
    assert [(c["change"], c["release_id"], c["column"], c["old"], c["new"], c["reason"]) for c in notes["changes"]] \
        == [("record_removed", duplicate, None, None, None, None),
            ("cell", first, "recdate", str(recdate), str(recdate + 10),
             "recurrence date corrected from the CRF (found by a data requestor, gbsg2-q1)")]
    status = json.loads(ok("status", holder, "--from", catalogue, "--json").stdout)
    assert (status["superseded"], status["latest"], status["cells_changed"], status["records_removed"]) == \
        (True, "v2", 1, 1)
    assert [(c["release_id"], c["column"], c["was"], c["now"]) for c in status["cells"]] == \
        [(first, "recdate", str(recdate), str(recdate + 10))]
    assert [r["release_id"] for r in status["removed_records"]] == [duplicate]
    ok("pull", "--upgrade", holder, "--from", catalogue)
    assert int(held(holder, first)["recdate"]) == recdate + 10
    assert duplicate not in set(pd.read_parquet(holder / "gbsg2.parquet")["release_id"])


def crafted(zones: Path, tmp_path: Path, **changes) -> Path:
    """A proposal with a valid checksum whose release or findings are changed as given."""
    holder = zones / "holder"
    path = tmp_path / "crafted.json"
    ok("query", "propose", holder, "--id", release_id(zones / "curation", 3), "--column", "age", "--text", "x",
       "--out", path, "--requestor", HOLDER)
    proposal = read(path)
    release = dataclasses.replace(proposal.release, **changes.pop("release", {}))
    findings = changes.pop("findings", proposal.findings)
    path.write_text(Proposal(release, proposal.requestor, proposal.created, findings).to_json())
    return path


@pytest.mark.parametrize("case", ["unreleased", "manifest", "release_id", "column", "tampered", "not_a_proposal"])
def test_a_bad_proposal_imports_nothing(zones, tmp_path, case):
    root = zones / "curation"
    if case == "unreleased":
        path = crafted(zones, tmp_path, release={"version": "v9"})
        expected = f"error: {path} proposes against gbsg2@v9 ({TIER} release), which this repository never released"
    elif case == "manifest":
        path = crafted(zones, tmp_path, release={"manifest_sha256": "0" * 64})
        expected = (f"error: {path}: the manifest it names (SHA-256 000000000000…) is not that of gbsg2@v1 ({TIER} "
                    "release) as released here: the file was altered, or the copy is not this repository's release")
    elif case == "release_id":
        path = crafted(zones, tmp_path, findings=[Finding("x", "R9999999", "age")])
        expected = f"error: {path}, finding 1: R9999999 is not a release ID of gbsg2@v1 ({TIER} release)"
    elif case == "column":
        path = crafted(zones, tmp_path, findings=[Finding("x", release_id(root, 3), "release_rank")])
        expected = f"error: {path}, finding 1: release_rank is not a variable of gbsg2@v1"
    elif case == "tampered":
        path = crafted(zones, tmp_path)
        path.write_text(path.read_text().replace('"text": "x"', '"text": "y"'))
        expected = (f"error: {path}: its content does not match its SHA-256: the file was changed after `ipd query "
                    "propose` wrote it")
    else:
        path = tmp_path / "answers.json"
        path.write_text("{}")
        expected = f"error: {path}: not a query proposal written by `ipd query propose`"
    head, log = git(root, "rev-parse", "HEAD"), root / "datasets/gbsg2/queries.jsonl"
    result = ipd("query", "import", path, "--repo", root)
    assert result.exit_code != 0
    assert one_line_error(result.stderr) == expected
    assert git(root, "rev-parse", "HEAD") == head and not log.exists()


@pytest.mark.parametrize("args, expected", [
    (["--id", "R9999999", "--column", "age"], "has no record R9999999"),
    (["--id", "{rid}", "--column", "nosuch"], "has no column 'nosuch'"),
    (["--id", "{rid}", "--column", "nodes", "--value", "many"], "--value 'many' is not a value of nodes"),
    (["--request-variable", "age"], "holds age already"),
])
def test_a_finding_the_copy_does_not_bear_out_is_refused(zones, tmp_path, args, expected):
    holder = zones / "holder"
    rid = release_id(zones / "curation", 3)
    out = tmp_path / "proposal.json"
    result = ipd("query", "propose", holder, *[a.format(rid=rid) for a in args], "--text", "x", "--out", out,
                 "--requestor", HOLDER)
    assert result.exit_code != 0
    assert expected in one_line_error(result.stderr)
    assert not out.exists()
