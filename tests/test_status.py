"""The requestor's status and upgrade: real repositories, clones and pulls; counts from metadata only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import git, ipd
from repo.corrections.log import Correction
from repo.requestor.status import _net_changes

SECOND = {"id": [1, 2, 3, 4], "arm": ["A", "B", "A", "B"], "sbp": [120, 153, 128, 140]}
THIRD = {"id": [1, 2, 4], "arm": ["A", "B", "B"], "sbp": [121, 153, 140]}


# -- helpers ------------------------------------------------------------------------------------


def _csv(path: Path, rows: dict) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _clone(source: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(dest)], check=True, capture_output=True)
    return dest


def _pin(out: Path) -> dict:
    return json.loads((out / "ipd-pin.json").read_text())


def _log(tmp_repo, trial: str = "t1") -> dict[str, dict]:
    return {e["version"]: e for e in json.loads(tmp_repo.ipd("log", trial, "--json").stdout)}


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _rows(out: Path) -> list[tuple]:
    frame = pd.read_parquet(out / "t1.parquet").sort_values("id").reset_index(drop=True)
    return list(frame[["id", "arm", "sbp"]].itertuples(index=False, name=None))


def _status(directory: Path, *args: str | Path) -> dict:
    result = ipd("status", directory, "--json", *args)
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def _one_line_error(result, expected: str, code: int = 2) -> None:
    assert result.exit_code == code, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr == f"error: {expected}\n"


def _newer(log: dict, version: str, kind: str = "redelivery", changes=None) -> dict:
    entry = log[version]
    return {"version": version, "created": entry["created"], "message": entry["message"], "kind": kind,
            "changes": changes}


REDELIVERY_NOTE = ("{v} is a re-delivery: the trialists' new delivery replaced the data, and its changes were "
                   "not recorded, so the counts are unknown")


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def t1(tmp_repo, tmp_path):
    """A trial t1 at v1 (3 rows)."""
    first = _csv(tmp_path / "d1.csv", {"id": [1, 2, 3], "arm": ["A", "B", "A"], "sbp": [120, 135, 128]})
    tmp_repo.ingest("t1", first, "--key", "id", "-m", "first")
    return tmp_repo


@pytest.fixture
def pulled(t1, tmp_path):
    """t1@v1 pulled from the repository into a directory."""
    out = tmp_path / "pulled"
    assert ipd("pull", "t1@v1", "--from", t1.root, "--out", out).exit_code == 0
    return out


def _redeliver(tmp_repo, tmp_path: Path, rows: dict, message: str) -> None:
    tmp_repo.ingest("t1", _csv(tmp_path / f"{message}.csv", rows), "-m", message)


# -- status -------------------------------------------------------------------------------------


def test_up_to_date(t1, pulled):
    result = ipd("status", pulled)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"t1@v1 is up to date with {t1.root}\n"
    assert _status(pulled) == {
        "trial": "t1", "version": "v1", "latest": "v1", "superseded": False, "cells_changed": 0,
        "records_added": 0, "records_removed": 0, "columns_added": [], "columns_removed": [],
        "source": str(t1.root), "versions": [],
        "reasons": [], "notes": []}


def test_status_in_the_current_directory(t1, pulled):
    result = ipd("status", cwd=pulled)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"t1@v1 is up to date with {t1.root}\n"


def _forget_changes(tmp_repo, *versions: str) -> None:
    """Make the records look like those of an ipd that did not yet record a re-delivery's changes."""
    for version in versions:
        path = tmp_repo.root / f"datasets/t1/versions/{version}.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "changes": None}, indent=2) + "\n")
    git(tmp_repo.root, "commit", "-qam", "records without changes")


def test_superseded_by_redeliveries_counts_their_recorded_changes(t1, pulled, tmp_path):
    _redeliver(t1, tmp_path, SECOND, "second")  # id 2's sbp changes, id 4 is added
    _redeliver(t1, tmp_path, THIRD, "third")  # id 1's sbp changes, id 3 is removed
    state = _status(pulled)
    assert (state["cells_changed"], state["records_added"], state["records_removed"]) == (2, 1, 1)
    assert [v["changes"] for v in state["versions"]] == [
        {"cells": 1, "added": 1, "removed": 0, "columns_added": [], "columns_removed": []},
        {"cells": 1, "added": 0, "removed": 1, "columns_added": [], "columns_removed": []}]
    assert state["notes"] == [f"{v} is a re-delivery: the trialists' new delivery replaced the data; its changes "
                              f"against {p} are counted as recorded" for v, p in (("v2", "v1"), ("v3", "v2"))]


def test_superseded_by_redeliveries_whose_changes_are_not_recorded(t1, pulled, tmp_path):
    _redeliver(t1, tmp_path, SECOND, "second")
    _redeliver(t1, tmp_path, THIRD, "third")
    _forget_changes(t1, "v2", "v3")
    log = _log(t1)
    assert _status(pulled) == {
        "trial": "t1", "version": "v1", "latest": "v3", "superseded": True, "cells_changed": None,
        "records_added": None, "records_removed": None, "columns_added": None, "columns_removed": None,
        "source": str(t1.root),
        "versions": [_newer(log, "v2"), _newer(log, "v3")], "reasons": [],
        "notes": [REDELIVERY_NOTE.format(v="v2"), REDELIVERY_NOTE.format(v="v3")]}
    result = ipd("status", pulled)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "t1@v1 is superseded by v3: changes unknown (see the note below)"
    assert any(line.split()[:2] == ["│", "v2"] and "redelivery" in line and "second" in line for line in lines)
    assert any(line.split()[:2] == ["│", "v3"] and "redelivery" in line and "third" in line for line in lines)
    assert lines[-3:] == [f"note: {REDELIVERY_NOTE.format(v='v2')}", f"note: {REDELIVERY_NOTE.format(v='v3')}",
                          f"Run `ipd pull --upgrade {pulled}` to move it to v3."]


def test_status_reads_no_data(t1, pulled, tmp_path):
    """Status needs only git metadata: it works with the DVC remote gone."""
    _redeliver(t1, tmp_path, SECOND, "second")
    shutil.rmtree(t1.remote)
    assert _status(pulled)["latest"] == "v2"


def test_a_clone_as_source_is_read_at_its_head(t1, tmp_path):
    clone = _clone(t1.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    assert ipd("pull", "t1", "--from", clone, "--out", out).exit_code == 0
    _redeliver(t1, tmp_path, SECOND, "second")
    assert _status(out)["superseded"] is False  # the clone has not fetched v2 yet
    git(clone, "pull", "-q", "--tags")
    state = _status(out)
    assert (state["version"], state["latest"], state["superseded"], state["source"]) == ("v1", "v2", True,
                                                                                          str(clone))
    assert [v["version"] for v in state["versions"]] == ["v2"]


def test_a_git_url_as_source(t1, tmp_path):
    """A URL is read through git and DVC (a temporary clone at its head), like any remote repository."""
    url = t1.root.as_uri()
    out = tmp_path / "pulled"
    assert ipd("pull", "t1@v1", "--from", url, "--out", out).exit_code == 0
    assert _status(out)["superseded"] is False
    _redeliver(t1, tmp_path, SECOND, "second")
    state = _status(out)
    assert (state["latest"], state["superseded"], state["source"]) == ("v2", True, url)
    assert state["versions"] == [_newer(_log(t1), "v2", changes={"cells": 1, "added": 1, "removed": 0,
                                                                  "columns_added": [], "columns_removed": []})]


def test_from_overrides_a_source_that_moved(t1, pulled, tmp_path):
    _redeliver(t1, tmp_path, SECOND, "second")
    moved = tmp_path / "moved"
    t1.root.rename(moved)
    _one_line_error(ipd("status", pulled), f"{t1.root} is not an ipd repository (no ipd.toml)")
    state = _status(pulled, "--from", moved)
    assert (state["latest"], state["source"]) == ("v2", str(moved))


# -- problems with the pin ----------------------------------------------------------------------


def test_a_directory_without_a_pin(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "data.csv").write_text("id\n1\n")
    message = f"{plain} has no ipd-pin.json: it was not written by `ipd pull`"
    _one_line_error(ipd("status", plain), message)
    _one_line_error(ipd("pull", "--upgrade", plain), message)
    assert _snapshot(plain) == {"data.csv": b"id\n1\n"}
    _one_line_error(ipd("status", tmp_path / "missing"), f"{tmp_path / 'missing'}: no such directory")


def test_an_unreadable_pin(pulled):
    (pulled / "ipd-pin.json").write_text("{not json")
    result = ipd("status", pulled)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {pulled / 'ipd-pin.json'} is not a pin written by `ipd pull` (")
    assert len(result.stderr.splitlines()) == 1
    (pulled / "ipd-pin.json").write_text('{"trial": "t1"}')
    result = ipd("pull", "--upgrade", pulled)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {pulled / 'ipd-pin.json'} is not a pin written by `ipd pull` (")


def test_a_pin_of_a_different_trial(t1, pulled, tmp_path):
    t1.ingest("t2", _csv(tmp_path / "t2.csv", {"pid": [7, 8], "dose": [1.5, 2.0]}), "--key", "pid")
    pin = _pin(pulled)
    t2_fingerprint = _log(t1, "t2")["v1"]["fingerprint"]
    (pulled / "ipd-pin.json").write_text(json.dumps({**pin, "trial": "t2"}))
    before = _snapshot(pulled)
    message = (f"{pulled} pins t2@v1 with fingerprint {pin['fingerprint']}, but {t1.root} records "
               f"{t2_fingerprint}: the copy was not pulled from this source")
    _one_line_error(ipd("status", pulled), message, code=1)
    _one_line_error(ipd("pull", "--upgrade", pulled), message, code=1)
    (pulled / "ipd-pin.json").write_text(json.dumps({**pin, "trial": "t9"}))
    _one_line_error(ipd("status", pulled), f"no trial 't9' in {t1.root} (see `ipd list`)")
    (pulled / "ipd-pin.json").write_text(json.dumps(pin))
    _one_line_error(ipd("pull", "t2", "--upgrade", "--out", pulled), f"{pulled} holds a pull of t1, not t2")
    assert _snapshot(pulled) == {**before, "ipd-pin.json": (json.dumps(pin)).encode()}


def test_a_pinned_version_the_source_does_not_have(t1, pulled):
    pin = _pin(pulled)
    (pulled / "ipd-pin.json").write_text(json.dumps({**pin, "version": "v7"}))
    _one_line_error(ipd("status", pulled), f"{t1.root} has no t1@v7, the version pinned in {pulled} (latest is v1): "
                                           "was the source rewritten, or is it another repository?")


# -- upgrade ------------------------------------------------------------------------------------


def test_upgrade_moves_the_copy_and_keeps_the_old_pin(t1, pulled, tmp_path):
    old = _pin(pulled)
    _redeliver(t1, tmp_path, SECOND, "second")
    _redeliver(t1, tmp_path, THIRD, "third")
    result = ipd("pull", "--upgrade", pulled)
    assert result.exit_code == 0, result.stderr
    log = _log(t1)
    assert result.stdout == (f"Upgraded {pulled} from t1@v1 to t1@v3 (3 rows, fingerprint "
                             f"{log['v3']['fingerprint'][7:19]} verified): t1.parquet, t1.dataset.yaml\n")
    assert _rows(pulled) == [(1, "A", 121), (2, "B", 153), (4, "B", 140)]
    assert sorted(p.name for p in pulled.iterdir()) == ["ipd-pin.json", "t1.dataset.yaml", "t1.parquet"]
    pin = _pin(pulled)
    assert {k: pin[k] for k in ("trial", "version", "fingerprint", "rows", "source", "format", "files")} == {
        "trial": "t1", "version": "v3", "fingerprint": log["v3"]["fingerprint"], "rows": 3, "source": str(t1.root),
        "format": "parquet", "files": ["t1.parquet", "t1.dataset.yaml"]}
    assert pin["history"] == [{"version": "v1", "fingerprint": old["fingerprint"], "pulled": old["pulled"],
                               "files": old["files"]}]
    assert _status(pulled)["superseded"] is False


def test_upgrade_twice_keeps_the_whole_history_in_the_pinned_format(t1, tmp_path):
    out = tmp_path / "pulled"
    assert ipd("pull", "t1", "--from", t1.root, "--out", out, "--format", "csv").exit_code == 0
    _redeliver(t1, tmp_path, SECOND, "second")
    result = ipd("pull", "--upgrade", cwd=out)  # DIR defaults to the current directory
    assert result.exit_code == 0, result.stderr
    _redeliver(t1, tmp_path, THIRD, "third")
    result = ipd("pull", "t1", "--upgrade", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert (printed["upgraded"], printed["from"], printed["to"]) == (True, "v2", "v3")
    assert printed["pin"] == _pin(out)
    assert [h["version"] for h in printed["pin"]["history"]] == ["v1", "v2"]
    assert printed["pin"]["format"] == "csv" and printed["pin"]["files"] == ["t1.csv", "t1.dataset.yaml"]
    assert sorted(p.name for p in out.iterdir()) == ["ipd-pin.json", "t1.csv", "t1.dataset.yaml"]
    frame = pd.read_csv(out / "t1.csv").sort_values("id")
    assert list(frame.itertuples(index=False, name=None)) == [(1, "A", 121), (2, "B", 153), (4, "B", 140)]


def test_upgrade_from_a_clone(t1, tmp_path):
    clone = _clone(t1.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    assert ipd("pull", "t1", "--from", clone, "--out", out).exit_code == 0
    _redeliver(t1, tmp_path, SECOND, "second")
    git(clone, "pull", "-q", "--tags")
    result = ipd("pull", "--upgrade", out)
    assert result.exit_code == 0, result.stderr
    assert _rows(out) == [(1, "A", 120), (2, "B", 153), (3, "A", 128), (4, "B", 140)]
    assert (_pin(out)["version"], _pin(out)["source"]) == ("v2", str(clone))


def test_upgrade_when_current_changes_nothing(t1, pulled):
    before = _snapshot(pulled)
    result = ipd("pull", "--upgrade", pulled)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{pulled} already holds the newest version, t1@v1; nothing to upgrade\n"
    result = ipd("pull", "--upgrade", pulled, "--json")
    assert json.loads(result.stdout) == {"upgraded": False, "from": "v1", "to": "v1", "pin": _pin(pulled)}
    assert _snapshot(pulled) == before


def test_a_failed_upgrade_leaves_the_directory_as_it_was(t1, tmp_path):
    clone = _clone(t1.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    assert ipd("pull", "t1", "--from", clone, "--out", out).exit_code == 0
    _redeliver(t1, tmp_path, SECOND, "second")
    git(clone, "pull", "-q", "--tags")
    before = _snapshot(out)
    shutil.rmtree(t1.remote)  # the clone cannot fetch v2's data: its DVC remote is gone
    result = ipd("pull", "--upgrade", out)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: could not fetch datasets/t1/data from {clone} at ")
    assert len(result.stderr.splitlines()) == 1
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["ipd-pin.json", "t1.dataset.yaml", "t1.parquet"]


def test_a_tampered_newer_version_leaves_the_directory_as_it_was(t1, pulled, tmp_path):
    _redeliver(t1, tmp_path, SECOND, "second")
    record = json.loads((t1.root / "datasets/t1/versions/v2.json").read_text())
    md5 = record["parts"][0]["md5"]
    cached = t1.root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes()[:-1] + b"X")
    before = _snapshot(pulled)
    result = ipd("pull", "--upgrade", pulled)
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith(f"error: t1@v2: part {record['parts'][0]['name']} has MD5 ")
    assert _snapshot(pulled) == before


def test_an_upgrade_failing_while_files_move_puts_them_back(t1, pulled, tmp_path, monkeypatch):
    """The data file has moved in when moving the pin fails: the old data file must come back."""
    _redeliver(t1, tmp_path, SECOND, "second")
    before = _snapshot(pulled)
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(dst) == pulled / "ipd-pin.json":
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    result = ipd("pull", "--upgrade", pulled)
    monkeypatch.undo()
    assert result.exit_code == 3 and "OSError: disk full" in result.stderr
    assert _snapshot(pulled) == before
    assert sorted(p.name for p in pulled.iterdir()) == ["ipd-pin.json", "t1.dataset.yaml", "t1.parquet"]


def test_upgrade_arguments(t1, pulled):
    _one_line_error(ipd("pull", "--upgrade", pulled, "--format", "csv"),
                    "an upgrade keeps the pinned format; to change it, pull into another directory")
    _one_line_error(ipd("pull", "t1@v2", "--upgrade", "--out", pulled),
                    "an upgrade moves to the newest version: name the trial without @v2")
    _one_line_error(ipd("pull", "--from", t1.root, "--out", pulled),
                    "name the TRIAL[@vN] to pull, or give --upgrade DIR to upgrade an earlier pull")
    _one_line_error(ipd("pull", "t1", "--out", pulled),
                    "give --from: the repository to pull from (a path or a git URL)")
    _one_line_error(ipd("pull", "t1", "--from", t1.root), "give --out: the directory to pull into")


# -- net counting of log entries ----------------------------------------------------------------


def _entry(action: str, key=None, column=None, old=None, new=None, reason="r") -> Correction:
    return Correction("c1", action, key, column, old, new, reason, None, "curator", "2024-01-01T00:00:00Z", "v1",
                      "v2", "2024-01-01T00:00:00Z")


def test_counts_are_net_over_the_entries():
    entries = [
        _entry("update", 1, "sbp", 120, 121),
        _entry("update", 1, "sbp", 121, 122),  # one cell, changed twice
        _entry("update", 2, "sbp", 135, 153),
        _entry("update", 2, "sbp", 153, 135.0),  # changed back: no change
        _entry("add", 9, new={"id": 9, "arm": "A", "sbp": 110}),
        _entry("update", 9, "sbp", 110, 111),  # a cell of an added record is not a changed cell
        _entry("add", 8, new={"id": 8, "arm": "B", "sbp": 100}),
        _entry("remove", 8, old={"id": 8, "arm": "B", "sbp": 100}),  # added then removed: nets out
        _entry("update", 3, "arm", "A", "B"),
        _entry("remove", 3, old={"id": 3, "arm": "B", "sbp": 128}),  # a removed record's cells do not count
        _entry("remove", 5, old={"id": 5, "arm": "A", "sbp": 140}),
        _entry("add", 5, new={"id": 5, "arm": "B", "sbp": 140}),  # removed and re-added: one cell differs
        _entry("add_column", None, "dose", None, {"file": "f", "sha256": "x", "type": "float", "rows": 3}),
        _entry("update", 1, "dose", None, 2.5),  # a cell of an added column is not a changed cell
    ]
    assert _net_changes(entries) == (2, 1, 1, ["dose"])


# -- corrected versions -------------------------------------------------------------------------


def _correct(tmp_repo, *args: str | Path) -> None:
    result = ipd("correct", "t1", *args, "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.stdout + result.stderr


def _commit(tmp_repo, message: str) -> None:
    result = ipd("commit", "t1", "-m", message, "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.fixture
def corrected(t1, pulled, tmp_path):
    """t1@v1 pulled; then v2 and v3 cut from corrections: updates, a removal, an added record and variable."""
    _correct(t1, "--key", "1", "--column", "sbp", "--value", "125", "--reason", "transcription error")
    _correct(t1, "--key", "2", "--column", "sbp", "--value", "130", "--reason", "transcription error")
    _correct(t1, "--key", "3", "--remove", "--reason", "duplicate registration")
    _commit(t1, "first fixes")
    _correct(t1, "--key", "1", "--column", "sbp", "--value", "122", "--reason", "transcription error")
    _correct(t1, "--key", "2", "--column", "arm", "--value", "A", "--reason", "randomisation list")
    _correct(t1, "--add", _csv(tmp_path / "add.csv", {"id": [5], "arm": ["B"], "sbp": [124]}),
             "--reason", "missed at delivery")
    _commit(t1, "second fixes")
    _correct(t1, "--add-column", _csv(tmp_path / "dose.csv", {"id": [1, 2, 5], "dose": [2.5, 3.0, 1.0]}),
             "--reason", "supplied later")
    _commit(t1, "dose")
    return t1


def _changes_of(tmp_repo, version: str):
    return json.loads((tmp_repo.root / f"datasets/t1/versions/{version}.json").read_text())["changes"]


def test_corrections_are_counted_net_and_their_reasons_grouped(corrected, pulled):
    log = _log(corrected)
    assert _status(pulled) == {
        "trial": "t1", "version": "v1", "latest": "v4", "superseded": True,
        "cells_changed": 3, "records_added": 1, "records_removed": 1, "columns_added": ["dose"], "columns_removed": [],
        "source": str(corrected.root),
        "versions": [_newer(log, v, "correction", _changes_of(corrected, v)) for v in ("v2", "v3", "v4")],
        "reasons": [{"reason": "transcription error", "count": 3}, {"reason": "duplicate registration", "count": 1},
                    {"reason": "randomisation list", "count": 1}, {"reason": "missed at delivery", "count": 1},
                    {"reason": "supplied later", "count": 1}],
        "notes": []}
    result = ipd("status", pulled)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "t1@v1 is superseded by v4: 3 cells changed, 1 record removed, 1 added, 1 column added (dose)"
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert [tuple(row) for row in cells if len(row) == 2] == [
        ("3", "transcription error"), ("1", "duplicate registration"), ("1", "randomisation list"),
        ("1", "missed at delivery"), ("1", "supplied later")]
    assert lines[-1] == f"Run `ipd pull --upgrade {pulled}` to move it to v4."


def test_a_pin_between_corrections_counts_only_what_came_after(corrected, tmp_path):
    out = tmp_path / "pulled-v2"
    assert ipd("pull", "t1@v2", "--from", corrected.root, "--out", out).exit_code == 0
    state = _status(out)
    assert {k: state[k] for k in ("version", "latest", "cells_changed", "records_added", "records_removed",
                                  "columns_added", "reasons")} == {
        "version": "v2", "latest": "v4", "cells_changed": 2, "records_added": 1, "records_removed": 0,
        "columns_added": ["dose"],
        "reasons": [{"reason": "transcription error", "count": 1}, {"reason": "randomisation list", "count": 1},
                    {"reason": "missed at delivery", "count": 1}, {"reason": "supplied later", "count": 1}]}


def test_a_correction_undone_is_no_change(t1, pulled):
    _correct(t1, "--key", "1", "--column", "sbp", "--value", "125", "--reason", "transcription error")
    _commit(t1, "fix")
    _correct(t1, "--key", "1", "--column", "sbp", "--value", "120", "--reason", "the original was right")
    _commit(t1, "undo")
    state = _status(pulled)
    assert (state["latest"], state["cells_changed"], state["records_added"], state["records_removed"]) == (
        "v3", 0, 0, 0)
    assert state["reasons"] == [{"reason": "transcription error", "count": 1},
                                {"reason": "the original was right", "count": 1}]
    assert ipd("status", pulled).stdout.splitlines()[0] == (
        "t1@v1 is superseded by v3: 0 cells changed, 0 records removed, 0 added")


def test_a_redelivery_between_corrections(t1, pulled, tmp_path):
    _correct(t1, "--key", "1", "--column", "sbp", "--value", "125", "--reason", "transcription error")
    _commit(t1, "fix")
    _redeliver(t1, tmp_path, SECOND, "second")
    state = _status(pulled)
    assert _changes_of(t1, "v3") == {"cells": 2, "added": 1, "removed": 0, "columns_added": [],
                                     "columns_removed": []}  # sbp of 1 (back) and 2, and id 4
    assert [(v["version"], v["kind"]) for v in state["versions"]] == [("v2", "correction"), ("v3", "redelivery")]
    assert state["reasons"] == [{"reason": "transcription error", "count": 1}]
    assert (state["cells_changed"], state["records_added"]) == (1 + 2, 1)  # a cell changed twice counts twice
    assert state["notes"] == ["v3 is a re-delivery: the trialists' new delivery replaced the data; its changes "
                              "against v2 are counted as recorded"]


def test_upgrade_to_a_corrected_version(corrected, pulled):
    result = ipd("pull", "--upgrade", pulled)
    assert result.exit_code == 0, result.stderr
    frame = pd.read_parquet(pulled / "t1.parquet").sort_values("id").reset_index(drop=True)
    assert list(frame[["id", "arm", "sbp", "dose"]].itertuples(index=False, name=None)) == [
        (1, "A", 122, 2.5), (2, "A", 130, 3.0), (5, "B", 124, 1.0)]
    pin = _pin(pulled)
    assert (pin["version"], [h["version"] for h in pin["history"]]) == ("v4", ["v1"])
    assert _status(pulled)["superseded"] is False
