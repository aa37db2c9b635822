"""The requestor's side of releases: pulled from the release remote alone, checked, pinned, and told of newer ones."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ipd
from support.releases import approve, built, one_line, package, second_version, sha256


def _pull(*args: str | Path):
    return ipd("pull", *args)


def _pin(out: Path) -> dict:
    return json.loads((out / "ipd-pin.json").read_text())


def _received(out: Path) -> dict[str, str]:
    """The package's files in a pulled directory, by SHA-256: all but the pin and the relations beside them."""
    return {p.name: sha256(p) for p in out.iterdir() if p.name not in ("ipd-pin.json", "datacite.json")}


def _snapshot(directory: Path) -> dict[str, bytes] | None:
    if not directory.exists():
        return None
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def released(trial):
    approve(trial)
    built(trial, "t@v1", "commercial")
    return trial


def _second_release(tmp_repo) -> dict:
    second_version(tmp_repo)
    return built(tmp_repo, "t@v2", "commercial")


def test_pull_a_release_checked_and_pinned(released, tmp_path):
    out = tmp_path / "data"
    result = _pull("t@v1", "--tier", "commercial", "--from", released.root, "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    record = json.loads((released.root / "datasets/t/releases/v1-commercial.json").read_text())
    assert result.stdout.strip() == (
        f"Pulled the commercial release of t@v1 ({record['rows']} rows, fingerprint {record['fingerprint'][7:19]} "
        f"and every file verified) into {out}: {', '.join(sorted(record['files']))}")
    assert _received(out) == record["files"]
    pin = _pin(out)
    assert {k: pin[k] for k in ("trial", "version", "tier", "fingerprint", "rows", "format", "files", "source")} == {
        "trial": "t", "version": "v1", "tier": "commercial", "fingerprint": record["fingerprint"],
        "rows": record["rows"], "format": "release", "files": sorted(record["files"]), "source": str(released.root)}


def test_a_requestor_needs_only_git_and_the_release_remote(released, tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(released.root), str(clone)], check=True)
    released.remote.rename(tmp_path / "restricted-elsewhere")  # the requestor has no access to restricted data
    out = tmp_path / "data"
    result = _pull("t", "--tier", "commercial", "--from", clone, "--out", out, "--json")  # the latest release
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.stdout)["version"] == "v1"
    assert _received(out) == \
        {p.name: sha256(p) for p in package(released.root, "v1", "commercial").iterdir()}


def test_pull_through_a_git_url(released, tmp_path):
    out = tmp_path / "data"
    result = _pull("t@v1", "--tier", "commercial", "--from", f"file://{released.root}", "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert _pin(out)["tier"] == "commercial"


def test_a_tampered_release_file_is_refused(released, tmp_path):
    listing = json.loads(next((released.remote.parent / "remote-release").glob("files/md5/*/*.dir")).read_text())
    csv = next(e["md5"] for e in listing if e["relpath"] == "t.csv")
    stored = released.remote.parent / "remote-release" / "files" / "md5" / csv[:2] / csv[2:]
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes().replace(b"\n", b"\r\n", 1))
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(released.root), str(clone)], check=True)
    out = tmp_path / "data"
    message = one_line(_pull("t@v1", "--tier", "commercial", "--from", clone, "--out", out), code=1)
    assert message.startswith("t@v1 (commercial): t.csv has SHA-256 ")
    assert not out.exists()


def test_refusals(released, tmp_path):
    out = tmp_path / "data"
    assert one_line(_pull("t@v1", "--tier", "noncommercial", "--from", released.root, "--out", out)) == \
        f"{released.root} has no noncommercial release of t@v1"
    assert one_line(_pull("t", "--tier", "noncommercial", "--from", released.root, "--out", out)) == \
        f"{released.root} has no noncommercial release of t"
    assert one_line(_pull("t@v1", "--tier", "public", "--from", released.root, "--out", out)) == \
        "unknown tier 'public'; choose noncommercial or commercial"
    assert one_line(_pull("t@v1", "--tier", "commercial", "--format", "csv", "--from", released.root, "--out", out)) \
        == "a release comes in every format at once (Parquet, CSV, SAS transport); leave out --format"
    assert not out.exists()
    assert _pull("t@v1", "--from", released.root, "--out", out).exit_code == 0  # the version itself
    assert one_line(_pull("t@v1", "--tier", "commercial", "--from", released.root, "--out", out)) == \
        f"{out} already holds t@v1; choose another --out"


def test_status_tells_release_holders_about_a_newer_release(released, tmp_path):
    out = tmp_path / "data"
    assert _pull("t@v1", "--tier", "commercial", "--from", released.root, "--out", out).exit_code == 0
    ipd("correct", "t", "--key", "100010", "--column", "cd4", "--value", "999", "--reason", "CRF page 4",
        "--repo", released.root)
    assert ipd("commit", "t", "-m", "query round 1", "--repo", released.root).exit_code == 0
    state = json.loads(ipd("status", out, "--json").stdout)
    assert (state["version"], state["latest"], state["superseded"], state["tier"]) == ("v1", "v1", False, "commercial")
    assert state["notes"] == ["v2 is the latest version, but it has no commercial release yet"]
    approve(released, "t@v2")
    second = built(released, "t@v2", "commercial")
    result = ipd("status", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == ("t@v1 (commercial release) is superseded by the commercial release of "
                                             "v2: 1 cell changed, 0 records removed, 0 added")
    state = json.loads(ipd("status", out, "--json").stdout)
    assert (state["latest"], state["superseded"], state["cells_changed"]) == ("v2", True, 1)
    result = _pull("--upgrade", out, "--json")
    assert result.exit_code == 0, result.stderr
    pin = _pin(out)
    assert (pin["version"], pin["tier"], pin["fingerprint"]) == ("v2", "commercial", second["fingerprint"])
    assert [h["version"] for h in pin["history"]] == ["v1"]
    assert _received(out) == second["files"]


def test_a_release_pin_the_source_does_not_have(released, tmp_path):
    out = tmp_path / "data"
    assert _pull("t@v1", "--tier", "commercial", "--from", released.root, "--out", out).exit_code == 0
    pin = _pin(out)
    (out / "ipd-pin.json").write_text(json.dumps({**pin, "fingerprint": "sha256:" + "0" * 64}))
    before = _snapshot(out)
    assert one_line(ipd("status", out), code=1) == (
        f"{out} pins t@v1 (commercial release) with fingerprint sha256:{'0' * 64}, but {released.root} records "
        f"{pin['fingerprint']}: the copy was not pulled from this source")
    shutil.rmtree(released.root / "datasets/t/releases")
    assert one_line(ipd("status", out)) == (
        f"{released.root} has no t@v1 (commercial release), the release pinned in {out}: was the source rewritten, "
        "or is it another repository?")
    assert _snapshot(out) == before
