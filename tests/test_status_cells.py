"""A release holder's status lists which of their released cells changed, from the catalogue's release notes.

One curation repository publishes four noncommercial releases of the synthetic trial to its catalogue, and
holders pull v1, v2 and v3 as they come out:

- v2 corrects one participant's CD4 count (``FIXED``);
- v3 changes another's (``TOGGLED``) and removes a third (``WITHDRAWN``);
- v4 changes ``TOGGLED`` back and corrects many more CD4 counts (``BULK``), without public reasons.

The statuses of the holder of v1 after v2 and after v3 are kept as the fixture saw them; the tests read the
catalogue as it ends (v4), and never change it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import git, own_home
from support.releases import RULES, Repo, approve, linkage, run, synthetic, write_rules

from repo.requestor.catalogue import CellChange, RecordChange, net_changes

TIER = "noncommercial"
FRAME = synthetic()
SHARED = FRAME[FRAME.share_ok == 1].pid.tolist()  # participants every noncommercial release holds
FIXED, TOGGLED, WITHDRAWN, *BULK = SHARED[:27]
CD4 = dict(zip(FRAME.pid, FRAME.cd4))
RECHECKED = {pid: CD4[pid] - 1 for pid in BULK}  # within the range the trial's checks expect
EXISTING_KEYS = {"trial", "version", "latest", "superseded", "cells_changed", "records_added", "records_removed",
                 "columns_added", "columns_removed", "source", "versions", "reasons", "notes", "tier", "relations",
                 "issue", "latest_issue", "reissues"}


def _release(root: Path, version: str, *corrections: list) -> None:
    for correction in corrections:
        run("correct", "t", *correction, "--repo", root)
    run("commit", "t", "-m", f"queries answered for {version}", "--repo", root)
    approve(Repo(root), f"t@{version}")
    run("release", f"t@{version}", "--tier", TIER, "--repo", root)


def _pull(base: Path, version: str) -> Path:
    out = base / f"holder-{version}"
    run("pull", f"t@{version}", "--tier", TIER, "--from", base / "catalogue.git", "--out", out)
    return out


def _status(directory: Path, *args: str | Path) -> dict:
    return json.loads(run("status", directory, "--json", *args).stdout)


@pytest.fixture(scope="module")
def shelf(tmp_path_factory) -> dict:
    """The catalogue with releases v1 to v4, the holders' directories, and what the holder of v1 was told
    after v2 and v3."""
    base = tmp_path_factory.mktemp("status-cells") / "base"
    with own_home(base.parent / "home"):
        root = base / "curation"
        run("init", root, "--remote", base / "restricted", "--catalogue", base / "catalogue.git")
        FRAME.to_parquet(base / "t.parquet")
        run("ingest", "t", base / "t.parquet", "--key", "pid", "--arm", "arm", "--randomised", "randdate",
            "--repo", root)
        write_rules(root, RULES)
        approve(Repo(root))
        run("release", "t@v1", "--tier", TIER, "--repo", root)
        holders = {"v1": _pull(base, "v1")}
        _release(root, "v2", ["--key", FIXED, "--column", "cd4", "--value", "999", "--reason",
                              "CRF page 4 (MRN 5512)", "--public-reason", "CD4 from the CRF"])
        after_v2 = _status(holders["v1"])
        holders["v2"] = _pull(base, "v2")
        _release(root, "v3", ["--key", TOGGLED, "--column", "cd4", "--value", "555", "--reason", "CRF page 9",
                              "--public-reason", "typo"],
                 ["--key", WITHDRAWN, "--remove", "--reason", "letter of 3 May", "--public-reason", "withdrew"])
        after_v3 = {"json": _status(holders["v1"]), "text": run("status", holders["v1"]).stdout}
        holders["v3"] = _pull(base, "v3")
        sheet = base / "bulk.csv"
        sheet.write_text("key,column,value,reason\n" + "".join(f"{pid},cd4,{RECHECKED[pid]},lab re-run\n"
                                                                for pid in BULK))
        _release(root, "v4", ["--key", TOGGLED, "--column", "cd4", "--value", str(CD4[TOGGLED]), "--reason",
                              "CRF page 9 again", "--public-reason", "typo undone"], ["--file", sheet])
    return {"base": base, "holders": holders, "ids": linkage(root, TIER), "after_v2": after_v2,
            "after_v3": after_v3}


def _cell(ids: dict, pid: int, was: object, now: object, *reasons: str) -> dict:
    return {"release_id": ids[pid], "record": None, "table": None, "column": "cd4", "was": str(was),
            "now": str(now), "reasons": list(reasons)}


def _record(ids: dict, pid: int, *reasons: str) -> dict:
    return {"release_id": ids[pid], "record": None, "table": None, "reasons": list(reasons)}


def _bulk(ids: dict) -> list[dict]:
    return [_cell(ids, pid, CD4[pid], RECHECKED[pid]) for pid in BULK]


def _by_id(cells: list[dict]) -> list[dict]:
    return sorted(cells, key=lambda c: c["release_id"])


def test_after_one_correction_and_a_new_release_the_holder_is_told_exactly_that_cell(shelf):
    status, ids = shelf["after_v2"], shelf["ids"]
    assert (status["latest"], status["superseded"], status["cells_changed"]) == ("v2", True, 1)
    assert status["cells"] == [_cell(ids, FIXED, CD4[FIXED], 999, "CD4 from the CRF")]
    assert (status["removed_records"], status["added_records"]) == ([], [])
    assert set(status) == EXISTING_KEYS | {"cells", "removed_records", "added_records"}
    held = {row["release_id"]: row["cd4"] for row in pq.read_table(shelf["holders"]["v1"] / "t.parquet").to_pylist()}
    assert str(held[ids[FIXED]]) == status["cells"][0]["was"]  # as in the holder's own copy


def test_the_text_lists_the_changed_cells_and_removed_records_after_the_counts(shelf):
    ids, lines = shelf["ids"], shelf["after_v3"]["text"].splitlines()
    assert lines[0] == ("t@v1 (noncommercial release) is superseded by the noncommercial release of v3: "
                        "2 cells changed, 1 record removed, 0 added")
    assert lines[1] == "what changed in your copy"
    end = lines.index(next(line for line in lines if line.startswith("└")))
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines[2:end] if line.startswith("│")]
    assert rows == sorted([[ids[FIXED], "cd4", str(CD4[FIXED]), "999", "CD4 from the CRF"],
                           [ids[TOGGLED], "cd4", str(CD4[TOGGLED]), "555", "typo"]]) + \
        [[ids[WITHDRAWN], "(whole record)", "", "removed", "withdrew"]]
    assert "more (see --json)" not in shelf["after_v3"]["text"]
    assert shelf["after_v3"]["json"]["removed_records"] == [_record(ids, WITHDRAWN, "withdrew")]


def test_a_value_changed_and_changed_back_is_not_listed(shelf):
    ids, holders = shelf["ids"], shelf["holders"]
    status = _status(holders["v1"])
    assert status["cells"] == _by_id([_cell(ids, FIXED, CD4[FIXED], 999, "CD4 from the CRF"), *_bulk(ids)])
    assert status["removed_records"] == [_record(ids, WITHDRAWN, "withdrew")]
    assert status["cells_changed"] == len(BULK) + 1
    assert status["reasons"] == [{"reason": "CD4 from the CRF", "count": 1}, {"reason": "typo", "count": 1},
                                 {"reason": "typo undone", "count": 1}, {"reason": "withdrew", "count": 1}]
    for_v2 = _status(holders["v2"])  # TOGGLED changed by the next release, and back by the one after
    assert for_v2["cells"] == _by_id(_bulk(ids))
    assert (for_v2["cells_changed"], for_v2["records_removed"]) == (len(BULK), 1)
    for_v3 = _status(holders["v3"])  # who holds the changed value is told it changed back
    assert for_v3["cells"] == _by_id([_cell(ids, TOGGLED, 555, CD4[TOGGLED], "typo undone"), *_bulk(ids)])
    assert for_v3["removed_records"] == []


def test_the_text_shows_the_first_rows_and_says_how_many_more_the_json_has(shelf):
    ids = shelf["ids"]
    lines = run("status", shelf["holders"]["v1"]).stdout.splitlines()
    assert lines[0].endswith(f"v4: {len(BULK) + 1} cells changed, 1 record removed, 0 added")
    end = lines.index(next(line for line in lines if line.startswith("└")))
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines[2:end] if line.startswith("│")]
    cells = _by_id([_cell(ids, FIXED, CD4[FIXED], 999, "CD4 from the CRF"), *_bulk(ids)])
    assert rows == [[c["release_id"], "cd4", c["was"], c["now"], "; ".join(c["reasons"])] for c in cells[:20]]
    assert lines[end + 1] == f"… and {len(cells) + 1 - 20} more (see --json)"


def test_cells_are_unknown_when_a_release_in_between_has_no_notes(shelf, tmp_path):
    source, clone = tmp_path / "catalogue.git", tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--bare", str(shelf["base"] / "catalogue.git"), str(source))
    git(tmp_path, "clone", "-q", str(source), str(clone))
    git(clone, "rm", "-q", "datasets/t/notes/v3-noncommercial.json")
    git(clone, "commit", "-qm", "v3 published without notes")
    git(clone, "push", "-q")
    status = _status(shelf["holders"]["v1"], "--from", source)
    assert (status["latest"], status["cells_changed"], status["cells"], status["removed_records"],
            status["added_records"]) == ("v4", None, None, None, None)
    result = run("status", shelf["holders"]["v1"], "--from", source).stdout
    assert "changes unknown (see the note below)" in result and "what changed in your copy" not in result
    assert "note: v3-noncommercial was published without release notes, so the changes are unknown" in result
    assert _status(shelf["holders"]["v3"], "--from", source)["cells"] == \
        _by_id([_cell(shelf["ids"], TOGGLED, 555, CD4[TOGGLED], "typo undone"), *_bulk(shelf["ids"])])


def test_a_status_from_a_curation_repository_has_no_listing(shelf):
    status = _status(shelf["holders"]["v1"], "--from", shelf["base"] / "curation")
    assert set(status) == EXISTING_KEYS


# -- the netting of consecutive releases' notes -----------------------------------------------------


def _change(kind: str, rid: str | None = None, column: str | None = None, old: str | None = None,
            new: str | None = None, reason: str | None = None, **where: str) -> dict:
    found = {"change": kind, "release_id": rid, "column": column, "old": old, "new": new, "reason": reason}
    return found | where


def test_the_net_cells_of_several_releases_notes_with_tables_and_records():
    episode = {"table": "episodes", "record": "enum=2"}
    v2 = {"changes": [
        _change("column_added", column="bmi"),
        _change("record_removed", "R4", reason="withdrew"),
        _change("record_added", "R9"),
        _change("cell", "R1", "cd4", "10", "11", "typo"),
        _change("cell", "R2", "cd4", "5", "6"),
        _change("cell", "R3", "organism", "A", "B", "lab report", **episode),
        _change("cell", "R3", "organism", "C", "D", "lab report", table="episodes", record="enum=1"),
    ]}
    v3 = {"changes": [
        _change("record_removed", "R2", reason="duplicate"),  # gone: its cell is not listed
        _change("record_removed", "R5", reason="duplicate episode", **episode),
        _change("cell", "R1", "cd4", "11", "12", "typo again"),
        _change("cell", "R3", "organism", "D", "C", "undone", table="episodes", record="enum=1"),  # back
        _change("cell", "R6", "bmi", "", "22.5"),  # a column the holder does not have
        _change("cell", "R9", "cd4", "7", "8"),  # a record the holder does not have
    ]}
    net = net_changes([v2, v3])
    assert (net.cells, net.added, net.removed, net.columns_added, net.columns_removed) == (3, 1, 3, ["bmi"], [])
    assert net.listing.cells == [
        CellChange("R1", "cd4", "10", "12", reasons=("typo", "typo again")),
        CellChange("R3", "organism", "A", "B", "enum=2", "episodes", ("lab report",)),
    ]
    assert net.listing.removed == [RecordChange("R2", reasons=("duplicate",)), RecordChange("R4", reasons=("withdrew",)),
                                   RecordChange("R5", "enum=2", "episodes", ("duplicate episode",))]
    assert net.listing.added == [RecordChange("R9")]
    assert net.listing.cells[1].to_json() == {"release_id": "R3", "record": "enum=2", "table": "episodes",
                                              "column": "organism", "was": "A", "now": "B",
                                              "reasons": ["lab report"]}
    unknown = net_changes([v2, None, v3]).listing
    assert (unknown.cells, unknown.removed, unknown.added) == (None, None, None)
