"""The two trust zones: releases published to a catalogue that holds nothing restricted, and pulled from it alone.

One curation repository (synthetic trial with identifiers, dates, consent) is
built once with its catalogue and both tiers of v1 published; tests that change
anything work on their own copy.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import git, ipd, own_home
from support.releases import (RULES, Repo, approve, copy_zones, one_line, run, synthetic,
                              write_rules)

DELIVERY = "leeds-site-export-2016.parquet"  # a delivery's name may itself identify: it must stay restricted
TIERS = ("noncommercial", "commercial")


@pytest.fixture(scope="module")
def zones(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("zones") / "base"
    with own_home(base.parent / "home"):
        root = base / "curation"
        run("init", root, "--remote", base / "restricted", "--catalogue", base / "catalogue.git")
        synthetic().to_parquet(base / DELIVERY)
        run("ingest", "t", base / DELIVERY, "--key", "pid", "--arm", "arm", "--randomised", "randdate",
            "--repo", root)
        write_rules(root, RULES)
        approve(Repo(root))
        for tier in TIERS:
            run("release", "t@v1", "--tier", tier, "--repo", root)
    return base


@pytest.fixture
def copy(zones, tmp_path) -> Path:
    """A copy of both zones, every URL pointed at the copies."""
    return copy_zones(zones, tmp_path / "base")


def catalogue_files(catalogue: Path) -> dict[str, bytes]:
    """Every blob in the catalogue's whole history, by path."""
    listed = git(catalogue, "rev-list", "--all", "--objects").splitlines()
    return {line.split(" ", 1)[1]: subprocess.run(["git", "cat-file", "-p", line.split()[0]], cwd=catalogue,
                                                  capture_output=True, check=True).stdout
            for line in listed if " " in line and git(catalogue, "cat-file", "-t", line.split()[0]) == "blob"}


def test_the_catalogue_holds_each_release_s_public_files_and_nothing_else(zones):
    files = catalogue_files(zones / "catalogue.git")
    package = {"README.txt", "datapackage.json", "dictionary.yaml", "disclosure.json", "manifest.json",
               "modifications.csv", "modifications.json", "ro-crate-metadata.json", "t.csv.dvc", "t.parquet.dvc",
               "t.xpt.dvc"}
    expected = {"catalogue.toml", ".dvc/config", ".dvc/.gitignore", "README.md", "datasets/t/releases/.gitignore"}
    for tier in TIERS:
        expected |= {f"datasets/t/releases/v1-{tier}/{name}" for name in package}
        expected |= {f"datasets/t/{folder}/v1-{tier}.json" for folder in ("releases", "provenance", "publications",
                                                                           "notes")}
        expected |= {f"datasets/t/notes/v1-{tier}.md"}
    assert set(files) == expected


def test_nothing_restricted_reaches_the_catalogue(zones):
    root = zones / "curation"
    record = json.loads((root / "datasets/t/versions/v1.json").read_text())
    delivery_sha = hashlib.sha256((zones / DELIVERY).read_bytes()).hexdigest()
    approval_sha = hashlib.sha256((root / "datasets/t/releases/approvals/v1.json").read_bytes()).hexdigest()
    restricted = {"the version's fingerprint": record["fingerprint"].removeprefix("sha256:").encode(),
                  "the delivery's SHA-256": delivery_sha.encode(), "the delivery's name": DELIVERY.encode(),
                  "the approval file's SHA-256": approval_sha.encode(),
                  "a participant's name": b"Participant 17", "an original key": b"100017"}
    found = {(what, path) for path, blob in catalogue_files(zones / "catalogue.git").items()
             for what, value in restricted.items() if value in blob}
    assert found == set()
    public = json.loads((root / "datasets/t/releases/v1-noncommercial.json").read_text())
    assert public["version_fingerprint"] == record["fingerprint"]  # the curation's own record keeps it


def test_a_release_holder_with_only_the_catalogue_pulls_checks_and_gets_with_dvc(copy, tmp_path):
    """The curation repository and the restricted remote moved away and unreadable."""
    away = tmp_path / "away"
    away.mkdir()
    for name in ("curation", "restricted"):
        (copy / name).rename(away / name)
    away.chmod(0)
    try:
        out = tmp_path / "pulled"
        result = run("pull", "t@v1", "--tier", "noncommercial", "--from", copy / "catalogue.git", "--out", out)
        assert "every file verified" in result.stdout
        table = pq.read_table(out / "t.parquet")
        assert table.num_rows == json.loads((out / "manifest.json").read_text())["rows"]
        assert "pid" not in table.column_names and "name" not in table.column_names
        assert json.loads((out / "ipd-pin.json").read_text())["source"] == str(copy / "catalogue.git")
        status = json.loads(run("status", out, "--json").stdout)
        assert (status["version"], status["latest"], status["superseded"]) == ("v1", "v1", False)
        got = tmp_path / "got"
        subprocess.run([str(Path(sys.executable).parent / "dvc"), "get", str(copy / "catalogue.git"),
                        "datasets/t/releases/v1-commercial", "-o", str(got)], check=True, capture_output=True,
                       cwd=tmp_path)
        manifest = json.loads((got / "manifest.json").read_text())
        assert {p.name for p in got.iterdir()} == {*manifest["files"], "manifest.json"}
        assert all(hashlib.sha256((got / n).read_bytes()).hexdigest() == h for n, h in manifest["files"].items())
    finally:
        away.chmod(0o755)


def test_releasing_again_publishes_nothing_new(copy):
    before = git(copy / "catalogue.git", "rev-parse", "main")
    result = run("release", "t@v1", "--tier", "noncommercial", "--repo", copy / "curation")
    assert "Published in the catalogue already" in result.stdout
    assert git(copy / "catalogue.git", "rev-parse", "main") == before


def test_verify_checks_the_curation_history_against_the_catalogue(copy):
    root = copy / "curation"
    assert run("verify", "--repo", root).exit_code == 0
    # Rewrite the commit that recorded the commercial release, keeping every file as it was.
    commit = git(root, "log", "--format=%H", "-1", "--", "datasets/t/releases/v1-commercial.json")
    assert commit == git(root, "rev-parse", "HEAD")
    git(root, "commit", "-q", "--amend", "-m", "t v1: commercial release (reworded)")
    result = ipd("verify", "--repo", root, "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [p["object"] for p in problems] == ["publication t@v1/commercial"]
    assert problems[0]["problem"].startswith(f"the catalogue recorded it as committed in {commit[:12]}")


def test_a_publication_the_catalogue_refuses_leaves_both_zones_as_they_were(copy):
    root = copy / "curation"
    hook = copy / "catalogue.git/hooks/pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'read-only today' >&2\nexit 1\n")
    hook.chmod(0o755)
    run("correct", "t", "--key", "100010", "--column", "cd4", "--value", "999", "--reason", "CRF", "--repo", root)
    run("commit", "t", "-m", "query round 1", "--repo", root)
    approve(Repo(root), "t@v2")
    head, catalogue = git(root, "rev-parse", "HEAD"), git(copy / "catalogue.git", "rev-parse", "main")
    linkage = (root / "datasets/t/linkage.dvc").read_text()
    message = one_line(ipd("release", "t@v2", "--tier", "noncommercial", "--repo", root), 2)
    assert "git push failed" in message and "read-only today" in message
    assert git(root, "rev-parse", "HEAD") == head
    assert not (root / "datasets/t/releases/v2-noncommercial.json").exists()
    assert (root / "datasets/t/linkage.dvc").read_text() == linkage
    assert git(copy / "catalogue.git", "rev-parse", "main") == catalogue
    hook.unlink()
    assert "Published to the catalogue" in run("release", "t@v2", "--tier", "noncommercial", "--repo", root).stdout


def test_a_catalogue_must_be_a_git_repository_paired_with_the_same_release_remote(copy, tmp_path):
    root = copy / "curation"
    settings = (root / "ipd.toml").read_text()
    plain = tmp_path / "plain"
    plain.mkdir()
    assert one_line(ipd("remote", "catalogue", plain, "--repo", root)) == \
        f"{plain} is not a git repository: a catalogue is one (a local path, or any git URL)"
    other = tmp_path / "other"
    run("init", other, "--remote", tmp_path / "other-restricted", "--catalogue", tmp_path / "other.git")
    assert one_line(ipd("remote", "catalogue", tmp_path / "other.git", "--repo", root)) == (
        f"{tmp_path / 'other.git'} publishes to the release remote {tmp_path / 'other-restricted-release'}, but this "
        f"repository's is {copy / 'restricted-release'}: pair the catalogue with the same release remote")
    assert (root / "ipd.toml").read_text() == settings
    listed = {r["kind"]: r["url"] for r in json.loads(run("remote", "--repo", root, "--json").stdout)}
    assert listed["catalogue"] == str(copy / "catalogue.git")


def test_a_holder_learns_from_the_catalogue_what_changed_in_their_release_then_upgrades(copy, tmp_path):
    root, catalogue = copy / "curation", copy / "catalogue.git"
    out = tmp_path / "pulled"
    run("pull", "t@v1", "--tier", "noncommercial", "--from", catalogue, "--out", out)
    frame = synthetic()
    corrected, renamed, withdrawn = frame[frame.share_ok == 1].pid.tolist()[:3]
    run("correct", "t", "--key", corrected, "--column", "cd4", "--value", "999", "--reason", "CRF page 4 (MRN 5512)",
        "--public-reason", "CD4 count corrected from the CRF", "--repo", root)
    run("correct", "t", "--key", renamed, "--column", "name", "--value", "Someone Else", "--reason", "misspelt",
        "--public-reason", "name fixed", "--repo", root)  # a deleted column: never surfaces
    run("correct", "t", "--key", withdrawn, "--remove", "--reason", "withdrew on 3 May (letter in file 7)",
        "--public-reason", "participant withdrew", "--repo", root)
    run("commit", "t", "-m", "query round 1", "--repo", root)
    approve(Repo(root), "t@v2")
    run("release", "t@v2", "--tier", "noncommercial", "--repo", root)
    published = json.loads(git(catalogue, "show", "main:datasets/t/notes/v2-noncommercial.json"))
    release_id = {row["release_id"] for row in pq.read_table(out / "t.parquet").to_pylist()}
    assert published["counts"] | {"records": 0, "columns": 0} == {"cells_changed": 1, "records_added": 0,
                                                                  "records_removed": 1, "columns_added": 0,
                                                                  "columns_removed": 0, "records": 0, "columns": 0}
    cell, = [c for c in published["changes"] if c["change"] == "cell"]
    removed, = [c for c in published["changes"] if c["change"] == "record_removed"]
    assert {cell["release_id"], removed["release_id"]} <= release_id
    assert (cell["column"], cell["new"], cell["reason"]) == ("cd4", "999", "CD4 count corrected from the CRF")
    assert removed["reason"] == "participant withdrew"
    history = b"".join(catalogue_files(catalogue).values())
    for restricted in (b"CRF page 4", b"MRN 5512", b"name fixed", b"Someone Else", b"letter in file 7"):
        assert restricted not in history
    away = tmp_path / "away"
    away.mkdir()
    for name in ("curation", "restricted"):
        (copy / name).rename(away / name)
    away.chmod(0)
    try:
        status = json.loads(run("status", out, "--json").stdout)
        assert (status["latest"], status["superseded"], status["cells_changed"], status["records_removed"],
                status["records_added"]) == ("v2", True, 1, 1, 0)
        assert status["reasons"] == [{"reason": "CD4 count corrected from the CRF", "count": 1},
                                     {"reason": "participant withdrew", "count": 1}]
        assert "superseded by the noncommercial release of v2" in run("status", out).stdout
        run("pull", "--upgrade", out)
        pin = json.loads((out / "ipd-pin.json").read_text())
        assert (pin["version"], [h["version"] for h in pin["history"]]) == ("v2", ["v1"])
        assert removed["release_id"] not in pq.read_table(out / "t.parquet")["release_id"].to_pylist()
    finally:
        away.chmod(0o755)


def test_the_catalogue_ipd_publishes_passes_its_audit(zones):
    result = ipd("catalogue", "audit", "--repo", zones / "curation", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["success"], report["findings"]) == (True, [])
    assert report["releases"] == ["t@v1-commercial", "t@v1-noncommercial"]


def test_a_publication_that_would_leak_a_removed_value_is_refused(copy):
    """A curator's note that names a participant reaches the package's README: the audit on publication stops it."""
    root = copy / "curation"
    run("correct", "t", "--key", "100010", "--column", "cd4", "--value", "999", "--reason", "CRF", "--repo", root)
    run("commit", "t", "-m", "query round 1", "--repo", root)
    metadata = root / "datasets/t/dataset.yaml"
    metadata.write_text(metadata.read_text().replace("\nrelease:", "\nnotes: queries answered by Participant 17\n"
                                                                       "release:", 1))
    git(root, "commit", "-qam", "notes")
    approve(Repo(root), "t@v2")
    head, catalogue = git(root, "rev-parse", "HEAD"), git(copy / "catalogue.git", "rev-parse", "main")
    message = one_line(ipd("release", "t@v2", "--tier", "commercial", "--repo", root), 1)
    assert message == ("not published: datasets/t/releases/v2-commercial/README.txt holds 1 value(s) of t's column "
                       "name (deleted) that a release removed")
    assert git(root, "rev-parse", "HEAD") == head
    assert git(copy / "catalogue.git", "rev-parse", "main") == catalogue
    assert not (root / "datasets/t/releases/v2-commercial.json").exists()


def test_a_holder_s_net_changes_across_several_releases_notes():
    from repo.requestor.catalogue import net_changes

    def cell(rid, old, new, reason=None):
        return {"change": "cell", "release_id": rid, "column": "cd4", "old": old, "new": new, "reason": reason}

    v2 = {"changes": [cell("R1", "10", "11", "typo"), cell("R2", "5", "6", "typo"), cell("R3", "7", "8")]}
    v3 = {"changes": [cell("R1", "11", "10", "typo undone"),  # changed back: no change to the holder
                      {"change": "record_removed", "release_id": "R2", "reason": "withdrew"},  # gone: not a cell
                      {"change": "record_added", "release_id": "R9"},
                      {"change": "column_added", "column": "bmi"}]}
    net = net_changes([v2, v3])
    assert (net.cells, net.added, net.removed, net.columns_added, net.columns_removed) == (1, 1, 1, ["bmi"], [])
    assert net.reasons == {"typo": 2, "typo undone": 1, "withdrew": 1}
    assert net_changes([v2, None]).cells is None  # a release published without notes: unknown, not zero
