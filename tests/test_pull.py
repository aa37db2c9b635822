"""The requestor's pull: real git, real DVC, a local directory remote, and clones that have no DVC cache."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import repo
from conftest import ACTG175, git, ipd
from repo.errors import IntegrityError
from repo.repository.verification import check_parts
from repo.repository.records import VersionRecord

PIN_FIELDS = {"trial", "version", "fingerprint", "rows", "source", "format", "files", "pulled", "tool", "history"}


# -- helpers ------------------------------------------------------------------------------------


def _csv(path: Path, rows: dict) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _clone(source: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(dest)], check=True, capture_output=True)
    assert not (dest / ".dvc" / "cache").exists()  # a fresh clone: every byte must come from the DVC remote
    return dest


def _pull(*args: str | Path):
    return ipd("pull", *args)


def _pin(out: Path) -> dict:
    return json.loads((out / "ipd-pin.json").read_text())


def _log(tmp_repo, trial: str) -> dict[str, dict]:
    return {e["version"]: e for e in json.loads(tmp_repo.ipd("log", trial, "--json").stdout)}


def _snapshot(directory: Path) -> dict[str, bytes] | None:
    if not directory.exists():
        return None
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _record(root: Path, trial: str, version: str) -> dict:
    return json.loads((root / f"datasets/{trial}/versions/{version}.json").read_text())


def _remote_object(remote: Path, md5: str) -> Path:
    return remote / "files" / "md5" / md5[:2] / md5[2:]


def _assert_one_line_error(result, expected: str | None = None, code: int = 2) -> None:
    assert result.exit_code == code, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if expected is not None:
        assert lines[0] == f"error: {expected}"


def _by_key(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def actg(tmp_repo):
    tmp_repo.ingest("actg175", ACTG175, "--key", "pidnum", "--arm", "arms", "-m", "first delivery")
    return tmp_repo


@pytest.fixture
def two_versions(tmp_repo, tmp_path):
    """A small trial t1 with a delivery v1 (3 rows) and a re-delivery v2 (a correction and a new participant)."""
    first = _csv(tmp_path / "d1.csv", {"id": [1, 2, 3], "arm": ["A", "B", "A"], "sbp": [120, 135, 128]})
    second = _csv(tmp_path / "d2.csv", {"id": [1, 2, 3, 4], "arm": ["A", "B", "A", "B"],
                                        "sbp": [120, 153, 128, 140]})
    tmp_repo.ingest("t1", first, "--key", "id", "-m", "first")
    tmp_repo.ingest("t1", second, "-m", "corrected")
    return tmp_repo


V1_ROWS = [(1, "A", 120), (2, "B", 135), (3, "A", 128)]
V2_ROWS = [(1, "A", 120), (2, "B", 153), (3, "A", 128), (4, "B", 140)]


def _rows(out: Path, trial: str = "t1") -> list[tuple]:
    frame = _by_key(pd.read_parquet(out / f"{trial}.parquet"), "id")
    return list(frame[["id", "arm", "sbp"]].itertuples(index=False, name=None))


# -- pulling from a clone -----------------------------------------------------------------------


def test_pull_from_a_clone_gets_the_delivery_rows_exactly(actg, tmp_path):
    clone = _clone(actg.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    result = _pull("actg175@v1", "--from", clone, "--out", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    fingerprint = _log(actg, "actg175")["v1"]["fingerprint"]
    assert result.stdout == (f"Pulled actg175@v1 (2139 rows, fingerprint {fingerprint[7:19]} verified) into {out}: "
                             "actg175.parquet, actg175.dataset.yaml\n")
    assert sorted(p.name for p in out.iterdir()) == ["actg175.dataset.yaml", "actg175.parquet", "ipd-pin.json"]

    pulled = _by_key(pq.read_table(out / "actg175.parquet").to_pandas(), "pidnum")
    # The delivery as pandas reads it: the same columns (the unnamed first one is named by the reader), values, types.
    delivered = _by_key(pd.read_csv(ACTG175), "pidnum")
    assert list(pulled.columns[1:]) == list(delivered.columns[1:]) and len(pulled) == 2139
    delivered.columns = pulled.columns
    pd.testing.assert_frame_equal(pulled, delivered)
    # ... and exactly what the source repository's Python API reads for v1.
    source = repo.open(actg.root).dataset("actg175").version("v1").to_arrow()
    assert pq.read_table(out / "actg175.parquet").sort_by("pidnum").equals(source.sort_by("pidnum"))

    pin = _pin(out)
    assert pin.keys() == PIN_FIELDS
    assert {k: pin[k] for k in ("trial", "version", "fingerprint", "rows", "source", "format", "files")} == {
        "trial": "actg175", "version": "v1", "fingerprint": fingerprint, "rows": 2139, "source": str(clone),
        "format": "parquet", "files": ["actg175.parquet", "actg175.dataset.yaml"]}
    assert dt.datetime.fromisoformat(pin["pulled"]).tzinfo is not None
    assert pin["tool"] == f"ipd-repo {repo.__version__}"
    assert (out / "actg175.dataset.yaml").read_text() == (actg.root / "datasets/actg175/dataset.yaml").read_text()
    assert not (clone / ".dvc" / "cache").exists()  # the pull reads; it does not fill the clone's cache


def test_pull_json_prints_the_pin(actg, tmp_path):
    clone = _clone(actg.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    result = _pull("actg175@v1", "--from", clone, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == _pin(out)
    assert printed.keys() == PIN_FIELDS
    assert (printed["trial"], printed["version"], printed["rows"], printed["format"]) == ("actg175", "v1", 2139,
                                                                                          "parquet")
    assert printed["fingerprint"] == _log(actg, "actg175")["v1"]["fingerprint"]
    assert printed["source"] == str(clone) and printed["files"] == ["actg175.parquet", "actg175.dataset.yaml"]


def test_pull_through_a_file_url(two_versions, tmp_path):
    clone = _clone(two_versions.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    url = clone.as_uri()
    result = _pull("t1@v1", "--from", url, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert _rows(out) == V1_ROWS
    pin = _pin(out)
    assert (pin["version"], pin["source"], pin["rows"]) == ("v1", url, 3)
    assert pin["fingerprint"] == _log(two_versions, "t1")["v1"]["fingerprint"]


def test_a_relative_source_is_pinned_as_an_absolute_path(two_versions, tmp_path):
    _clone(two_versions.root, tmp_path / "clone")
    result = ipd("pull", "t1@v1", "--from", "clone", "--out", "pulled", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert _rows(tmp_path / "pulled") == V1_ROWS
    assert _pin(tmp_path / "pulled")["source"] == str(tmp_path / "clone")  # still names the repository elsewhere


def test_pull_without_a_version_gets_the_latest(two_versions, tmp_path):
    clone = _clone(two_versions.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    result = _pull("t1", "--from", clone, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert _rows(out) == V2_ROWS
    pin = _pin(out)
    assert (pin["version"], pin["rows"]) == ("v2", 4)
    assert pin["fingerprint"] == _log(two_versions, "t1")["v2"]["fingerprint"]


def test_pull_an_older_version_after_a_redelivery(two_versions, tmp_path):
    clone = _clone(two_versions.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    result = _pull("t1@v1", "--from", clone, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert _rows(out) == V1_ROWS
    assert list(pd.read_parquet(out / "t1.parquet").columns) == ["id", "arm", "sbp"]
    pin = _pin(out)
    log = _log(two_versions, "t1")
    assert (pin["version"], pin["rows"], pin["fingerprint"]) == ("v1", 3, log["v1"]["fingerprint"])
    assert log["v1"]["fingerprint"] != log["v2"]["fingerprint"]


def test_pulling_the_same_version_again_into_the_same_directory(two_versions, tmp_path):
    clone = _clone(two_versions.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    assert _pull("t1@v2", "--from", clone, "--out", out).exit_code == 0
    result = _pull("t1", "--from", clone, "--out", out, "--json")  # the latest is still v2
    assert result.exit_code == 0, result.stderr
    assert _rows(out) == V2_ROWS and _pin(out)["version"] == "v2"
    assert sorted(p.name for p in out.iterdir()) == ["ipd-pin.json", "t1.dataset.yaml", "t1.parquet"]


def test_a_clone_without_tags_still_pulls_every_version(two_versions, tmp_path):
    clone = _clone(two_versions.root, tmp_path / "clone")
    for tag in git(clone, "tag", "--list").split():
        git(clone, "tag", "-d", tag)
    assert git(clone, "tag", "--list") == ""
    log = _log(two_versions, "t1")
    for version, rows in (("v1", V1_ROWS), ("v2", V2_ROWS)):
        out = tmp_path / f"pulled-{version}"
        result = _pull(f"t1@{version}", "--from", clone, "--out", out)
        assert result.exit_code == 0, result.stderr
        assert _rows(out) == rows
        assert _pin(out)["fingerprint"] == log[version]["fingerprint"]
    latest = tmp_path / "pulled-latest"
    assert _pull("t1", "--from", clone, "--out", latest).exit_code == 0
    assert _rows(latest) == V2_ROWS and _pin(latest)["version"] == "v2"


# -- tampering ----------------------------------------------------------------------------------


def test_a_tampered_part_in_the_remote_is_refused(actg, tmp_path):
    part = _record(actg.root, "actg175", "v1")["parts"][0]
    stored = _remote_object(actg.remote, part["md5"])
    table = pq.read_table(stored)
    ages = table.column("age").to_pylist()
    ages[0] += 1  # one value changed: still a valid Parquet file of the same shape
    column = table.schema.get_field_index("age")
    tampered = table.set_column(column, "age", pa.array(ages, table.schema.field("age").type))
    stored.chmod(0o644)
    pq.write_table(tampered, stored)
    actual = hashlib.md5(stored.read_bytes()).hexdigest()
    assert actual != part["md5"]

    clone = _clone(actg.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    result = _pull("actg175@v1", "--from", clone, "--out", out)
    _assert_one_line_error(result, f"actg175@v1: part {part['name']} has MD5 {actual}, the version record says "
                                   f"{part['md5']}", code=1)
    assert not out.exists()


def test_a_tampered_part_leaves_an_earlier_pull_as_it_was(actg, tmp_path):
    clone = _clone(actg.root, tmp_path / "clone")
    out = tmp_path / "pulled"
    assert _pull("actg175@v1", "--from", clone, "--out", out).exit_code == 0
    before = _snapshot(out)
    part = _record(actg.root, "actg175", "v1")["parts"][0]
    stored = _remote_object(actg.remote, part["md5"])
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:-1] + b"X")  # a byte changed
    result = _pull("actg175@v1", "--from", _clone(actg.root, tmp_path / "clone2"), "--out", out)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: actg175@v1: part {part['name']} has MD5 ")
    assert _snapshot(out) == before


def _record_of(root: Path, version: str = "v1") -> VersionRecord:
    return VersionRecord.from_json((root / f"datasets/t1/versions/{version}.json").read_text())


def test_check_parts_catches_a_wrong_fingerprint_behind_matching_md5s(two_versions):
    version = repo.open(two_versions.root).dataset("t1").version("v1")
    files = version.files()
    record = _record_of(two_versions.root)
    check_parts(record, files)  # as recorded: fine
    wrong = "sha256:" + "0" * 64
    with pytest.raises(IntegrityError) as caught:
        check_parts(dataclasses.replace(record, fingerprint=wrong), files)
    assert str(caught.value) == f"t1@v1: the data do not match the recorded fingerprint {wrong}"


def test_check_parts_catches_a_wrong_part_digest_behind_matching_md5s(two_versions):
    files = repo.open(two_versions.root).dataset("t1").version("v1").files()
    record = _record_of(two_versions.root)
    (part,) = record.parts
    bad = dataclasses.replace(record, parts=[dataclasses.replace(part, sum="0" * 32)])
    with pytest.raises(IntegrityError) as caught:
        check_parts(bad, files)
    assert str(caught.value) == f"t1@v1: the rows of part {part.name} do not match the version record"


def test_check_parts_catches_a_changed_file(two_versions, tmp_path):
    files = repo.open(two_versions.root).dataset("t1").version("v1").files()
    record = _record_of(two_versions.root)
    copy = tmp_path / "part-00000.parquet"
    table = pq.read_table(files[0])
    pq.write_table(table.set_column(2, "sbp", pa.array([999, 999, 999], table.schema.field("sbp").type)), copy)
    with pytest.raises(IntegrityError) as caught:
        check_parts(record, [copy])
    assert str(caught.value) == (f"t1@v1: part part-00000.parquet has MD5 {hashlib.md5(copy.read_bytes()).hexdigest()}"
                                 f", the version record says {record.parts[0].md5}")


# -- bad input ----------------------------------------------------------------------------------


def test_from_a_directory_that_is_not_a_repository(two_versions, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    out = tmp_path / "pulled"
    _assert_one_line_error(_pull("t1@v1", "--from", plain, "--out", out),
                           f"{plain} is not an ipd repository (no ipd.toml)")
    missing = tmp_path / "missing"
    _assert_one_line_error(_pull("t1@v1", "--from", missing, "--out", out),
                           f"{missing} is not an ipd repository (no ipd.toml)")
    assert not out.exists()


def test_a_version_that_does_not_exist_names_the_latest(two_versions, tmp_path):
    out = tmp_path / "pulled"
    _assert_one_line_error(_pull("t1@v3", "--from", two_versions.root, "--out", out),
                           "t1 has no version v3 (latest is v2)")
    assert not out.exists()


def test_an_unknown_trial(two_versions, tmp_path):
    out = tmp_path / "pulled"
    for ref in ("nosuch", "nosuch@v1"):
        _assert_one_line_error(_pull(ref, "--from", two_versions.root, "--out", out),
                               f"no trial 'nosuch' in {two_versions.root} (see `ipd list`)")
    assert not out.exists()


def test_an_invalid_reference(two_versions, tmp_path):
    out = tmp_path / "pulled"
    _assert_one_line_error(_pull("t1@2", "--from", two_versions.root, "--out", out),
                           "invalid version '2': versions are named v1, v2, …")
    _assert_one_line_error(_pull("t1@", "--from", two_versions.root, "--out", out),
                           "invalid reference 't1@': expected TRIAL or TRIAL@vN")
    assert not out.exists()


def test_an_unknown_format(two_versions, tmp_path):
    out = tmp_path / "pulled"
    _assert_one_line_error(_pull("t1@v1", "--from", two_versions.root, "--out", out, "--format", "xlsx"),
                           "unknown format 'xlsx'; choose one of parquet, csv, xpt, dta, sav")
    assert not out.exists()


def test_an_unreachable_remote(two_versions, tmp_path):
    clone = _clone(two_versions.root, tmp_path / "clone")
    shutil.rmtree(two_versions.remote)
    out = tmp_path / "pulled"
    result = _pull("t1@v1", "--from", clone, "--out", out)
    _assert_one_line_error(result)
    assert "t1" in result.stderr or str(clone) in result.stderr
    assert not out.exists()


def test_a_part_missing_from_the_remote(two_versions, tmp_path):
    clone = _clone(two_versions.root, tmp_path / "clone")
    _remote_object(two_versions.remote, _record(two_versions.root, "t1", "v1")["parts"][0]["md5"]).unlink()
    out = tmp_path / "pulled"
    result = _pull("t1@v1", "--from", clone, "--out", out)
    _assert_one_line_error(result)
    assert result.stderr.startswith(f"error: could not fetch datasets/t1/data from {clone} at ")
    assert result.stderr.rstrip().endswith("No storage files available: 'datasets/t1/data/part-00000.parquet'")
    assert not out.exists()


def test_out_holding_another_trials_pull(two_versions, tmp_path):
    other = _csv(tmp_path / "other.csv", {"pid": [7, 8], "dose": [1.5, 2.0]})
    two_versions.ingest("t2", other, "--key", "pid")
    out = tmp_path / "pulled"
    assert _pull("t2", "--from", two_versions.root, "--out", out).exit_code == 0
    before = _snapshot(out)
    _assert_one_line_error(_pull("t1@v1", "--from", two_versions.root, "--out", out),
                           f"{out} already holds a pull of t2; choose another --out")
    assert _snapshot(out) == before


def test_out_holding_another_version_of_the_same_trial(two_versions, tmp_path):
    out = tmp_path / "pulled"
    assert _pull("t1@v1", "--from", two_versions.root, "--out", out).exit_code == 0
    before = _snapshot(out)
    for ref in ("t1@v2", "t1"):  # "t1" means the latest, v2
        _assert_one_line_error(_pull(ref, "--from", two_versions.root, "--out", out),
                               f"{out} already holds t1@v1; choose another --out")
        assert _snapshot(out) == before


def test_out_that_is_a_file(two_versions, tmp_path):
    out = tmp_path / "pulled"
    out.write_text("not a directory\n")
    _assert_one_line_error(_pull("t1@v1", "--from", two_versions.root, "--out", out),
                           f"{out} exists and is not a directory")
    assert out.read_text() == "not a directory\n"


# -- the Python API -----------------------------------------------------------------------------


def test_python_api_reads_a_version(actg, tmp_path):
    version = repo.open(actg.root).dataset("actg175").version("v1")
    table = version.to_arrow()
    assert isinstance(table, pa.Table) and table.num_rows == 2139 and len(table.column_names) == 28
    frame = version.to_pandas()
    assert isinstance(frame, pd.DataFrame) and frame.shape == (2139, 28)
    assert sorted(frame["pidnum"]) == sorted(pd.read_csv(ACTG175)["pidnum"])
    rel = version.duckdb()
    assert rel.count("*").fetchall() == [(2139,)]
    arms = sorted(rel.aggregate("arms, count(*)").fetchall())
    assert arms == [(0, 532), (1, 522), (2, 524), (3, 561)]
    version.verify()


def test_python_api_in_a_clone_reads_the_latest_version_from_the_remote(two_versions, tmp_path):
    clone = _clone(two_versions.root, tmp_path / "clone")
    latest = repo.open(clone).dataset("t1").version()
    assert latest.record.version == "v2"
    assert sorted(latest.to_pandas()[["id", "arm", "sbp"]].itertuples(index=False, name=None)) == V2_ROWS
    latest.verify()


def test_python_api_in_a_clone_reads_an_older_version_from_the_remote(two_versions, tmp_path):
    clone = _clone(two_versions.root, tmp_path / "clone")
    dataset = repo.open(clone).dataset("t1")
    v1 = dataset.version("v1")
    assert sorted(v1.to_pandas()[["id", "arm", "sbp"]].itertuples(index=False, name=None)) == V1_ROWS
    assert sorted(v1.duckdb().aggregate("arm, sum(sbp)").fetchall()) == [("A", 248), ("B", 135)]
    v1.verify()


def test_python_api_verify_catches_a_changed_cache_file(two_versions):
    version = repo.open(two_versions.root).dataset("t1").version("v1")
    (path,) = version.files()
    table = pq.read_table(path)
    path.chmod(0o644)
    pq.write_table(table.set_column(2, "sbp", pa.array([121, 135, 128], table.schema.field("sbp").type)), path)
    with pytest.raises(IntegrityError) as caught:
        version.verify()
    assert str(caught.value).startswith("t1@v1: part part-00000.parquet has MD5 ")
