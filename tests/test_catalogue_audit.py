"""ipd catalogue audit: a value a release removed, anywhere in the catalogue's history or its release remote,
is found, named by file, commit, trial and column, and never printed."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import own_home
from support.cli import git, ipd
from support.releases import (
    RULES,
    approve,
    deliver,
    release,
    second_version,
    synthetic,
    write_rules,
)

import repo
from repo.catalogue import matching, paths
from repo.catalogue.audit import Place, Scanner
from repo.catalogue.matching import Index, distinctive, renderings
from repo.catalogue.needles import Column, Needle, Needles, value_hash
from repo.release import ids

DATA = ("t.parquet", "t.csv", "t.xpt")


class Curation:  # what the helpers of support.releases expect of tmp_repo
    def __init__(self, root: Path) -> None:
        self.root = root

    def ingest(self, trial: str, file: Path, *options: str):
        result = ipd("ingest", trial, file, *options, "--repo", self.root)
        assert result.exit_code == 0, result.output + result.stderr
        return result


def dvc(cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, check=True, capture_output=True)


def commit(clone: Path, message: str) -> str:
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", message)
    git(clone, "push", "-q", "origin", "HEAD:main")
    return git(clone, "rev-parse", "--short=7", "HEAD")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A curation repository with t@v1 released for the non-commercial tier; a catalogue made by hand (the
    package's metadata in git, its data DVC-tracked file by file and pushed to a local release remote) and
    audited clean; then, commit by commit, leaks planted in it."""
    base = tmp_path_factory.mktemp("audit")
    with own_home(base / "home"):
        root = base / "curation"
        assert ipd("init", root, "--remote", base / "restricted").exit_code == 0
        curation = Curation(root)
        deliver(curation, synthetic())
        write_rules(root, RULES)
        approve(curation, "t@v1")
        result = release(curation, "t@v1", "noncommercial")
        assert result.exit_code == 0, result.output + result.stderr

        bare, clone, remote = base / "catalogue.git", base / "clone", base / "release-remote"
        git(base, "init", "-q", "--bare", "-b", "main", str(bare))
        git(base, "clone", "-q", str(bare), str(clone))
        (clone / "catalogue.toml").write_text(f'format = "ipd-catalogue/1"\n\n[remotes]\nrelease = "{remote}"\n')
        dvc(clone, "init", "-q")
        dvc(clone, "remote", "add", "-d", "release", str(remote))
        dvc(clone, "config", "core.analytics", "false")
        package = clone / "datasets/t/releases/v1-noncommercial"
        shutil.copytree(root / "datasets/t/releases/v1-noncommercial", package)
        shutil.copy(root / "datasets/t/releases/v1-noncommercial.json", package.parent)
        for folder in ("provenance", "notes", "publications"):
            (clone / "datasets/t" / folder).mkdir(parents=True)
        shutil.copy(root / "provenance/t/v1-noncommercial.json", clone / "datasets/t/provenance")
        (clone / "datasets/t/notes/v1-noncommercial.md").write_text("# t v1\n\nFirst release, 2020-01-01.\n")
        dvc(clone, "add", "-q", *(str(package / name) for name in DATA))
        dvc(clone, "push", "-q")
        commits = {"clean": commit(clone, "t v1, non-commercial release")}
        clean = ipd("catalogue", "audit", bare, "--repo", root)

        rows = repo.open(root).dataset("t").version("v1").to_pandas()
        values = {"name": rows.name[6], "pid": int(rows.pid[122]), "death_date": rows.death_date.dropna().iloc[3]}
        notes = clone / "datasets/t/notes/v1-noncommercial.md"
        notes.write_text(notes.read_text() + f"\nThanks to {values['name']} for the quotes.\n")
        commits["a"] = commit(clone, "notes: thanks")
        (clone / "datasets/t/publications/v1-noncommercial.json").write_text(
            json.dumps({"release": "v1-noncommercial", "example": {"participant": values["pid"]}}, indent=2))
        commits["b"] = commit(clone, "publication")
        (clone / "datasets/t/dataset.yaml").write_text(
            f"title: t\nfollow_up:\n  last_death: {values['death_date']:%Y-%m-%d}\n")
        commits["c"] = commit(clone, "metadata")
        (clone / "datasets/t/dataset.yaml").unlink()
        commits["c removed"] = commit(clone, "metadata removed again")
        extra = clone / "datasets/t/extra"
        extra.mkdir()
        pq.write_table(pa.table({"who": rows.name, "technician": rows.tech, "age_years": rows.age}),
                       extra / "staff.parquet")
        dvc(clone, "add", "-q", str(extra / "staff.parquet"))
        dvc(clone, "push", "-q")
        commits["d"] = commit(clone, "staff")
        planted = ipd("catalogue", "audit", bare, "--repo", root)
        as_json = ipd("catalogue", "audit", bare, "--repo", root, "--json")
    return {"base": base, "root": root, "bare": bare, "remote": remote, "commits": commits, "values": values,
            "clean": clean, "planted": planted, "json": as_json}


def test_a_clean_catalogue_passes(built):
    result = built["clean"]
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout.splitlines() == [
        f"{built['bare']}: clean (19 blob(s) of 1 commit(s), 3 object(s) of the release remote, for the values "
        "removed by 1 release(s))"]




def blob(built, commit: str, path: str) -> str:
    return git(built["bare"], "rev-parse", "--short=7", f"{commit}:{path}")


def test_each_leak_is_found_by_file_commit_trial_and_column(built):
    """In a note, a deleted identifier; in a JSON file, an original key; in a file a later commit removed, an
    exact original date; in a Parquet object of the release remote, two deleted columns and the ages beyond the
    top code (short values: found as whole columns)."""
    result, commits, values = built["planted"], built["commits"], built["values"]
    assert result.exit_code == 1, result.output + result.stderr
    secret = ids.read(built["root"], "t").secret
    notes, publication = "datasets/t/notes/v1-noncommercial.md", "datasets/t/publications/v1-noncommercial.json"
    md5 = yaml.safe_load((built["base"] / "clone/datasets/t/extra/staff.parquet.dvc").read_text())["outs"][0]["md5"]
    staff = f"release remote files/md5/{md5[:2]}/{md5[2:]} (datasets/t/extra/staff.parquet), added in {commits['d']}"
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        f"datasets/t/dataset.yaml (blob {blob(built, commits['c'], 'datasets/t/dataset.yaml')}, gone from HEAD), "
        f"added in {commits['c']}: t.death_date, date (v1-noncommercial): 1 value(s), "
        f"hash {value_hash(secret, values['death_date'])}",
        f"{notes} (blob {blob(built, commits['a'], notes)}), added in {commits['a']}: t.name, deleted "
        f"(v1-noncommercial): 1 value(s), hash {value_hash(secret, values['name'])}",
        f"{publication} (blob {blob(built, commits['b'], publication)}), added in {commits['b']}: t.pid, key "
        f"(v1-noncommercial): 1 value(s), hash {value_hash(secret, values['pid'])}"]
    assert lines[3] == (f"{staff}: t.age, beyond coding (v1-noncommercial): column(s) age_years of the table hold "
                        "its values")
    assert lines[4].startswith(f"{staff}: t.name, deleted (v1-noncommercial): 400 value(s), hash ")
    assert lines[4].endswith(" and 395 more; column(s) who of the table hold its values")
    assert lines[5] == f"{staff}: t.tech, deleted (v1-noncommercial): column(s) technician of the table hold its values"
    assert lines[6:] == [f"{built['bare']}: 6 finding(s) (24 blob(s) of 6 commit(s), 4 object(s) of the release "
                         "remote, for the values removed by 1 release(s))"]


def test_a_table_in_the_release_remote_is_found_by_its_values_and_its_columns(built):
    report = json.loads(built["json"].stdout)
    assert built["json"].exit_code == 1
    pointer = yaml.safe_load((built["base"] / "clone/datasets/t/extra/staff.parquet.dvc").read_text())
    md5 = pointer["outs"][0]["md5"]
    leaked = [f for f in report["findings"] if f["object"]]
    common = {"file": "datasets/t/extra/staff.parquet", "paths": ["datasets/t/extra/staff.parquet"],
              "commits": [built["commits"]["d"]], "blob": None, "at_head": None,
              "object": f"files/md5/{md5[:2]}/{md5[2:]}", "trial": "t", "releases": ["v1-noncommercial"]}
    assert [{k: f[k] for k in (*common, "column", "kind", "values", "table_columns")} for f in leaked] == [
        {**common, "column": "age", "kind": "beyond coding", "values": 0, "table_columns": ["age_years"]},
        {**common, "column": "name", "kind": "deleted", "values": 400, "table_columns": ["who"]},
        {**common, "column": "tech", "kind": "deleted", "values": 0, "table_columns": ["technician"]}]
    assert len(leaked[1]["hashes"]) == 100 and leaked[0]["hashes"] == leaked[2]["hashes"] == []
    assert report["remote"] == str(built["remote"]) and report["not_checked"] == []


def test_no_value_is_printed(built):
    values = built["values"]
    date = values["death_date"]
    for output in (built["planted"].stdout, built["json"].stdout):
        for text in ("Participant", str(values["pid"]), f"{date:%Y-%m-%d}", f"{date:%Y%m%d}", f"{date:%d/%m/%Y}"):
            assert text not in output


def test_the_catalogue_configured_in_ipd_toml(built):
    settings = built["root"] / "ipd.toml"
    before = settings.read_text()
    settings.write_text(before.replace("[remotes]\n", f'[remotes]\ncatalogue = "{built["bare"]}"\n'))
    try:
        result = ipd("catalogue", "audit", "--repo", built["root"], "--json")
    finally:
        settings.write_text(before)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["findings"] == json.loads(built["json"].stdout)["findings"]


def test_without_a_catalogue_it_says_how_to_name_one(built):
    result = ipd("catalogue", "audit", "--repo", built["root"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: no catalogue given, and none configured: name one (`ipd catalogue "
                                     "audit PATH-OR-URL`) or set remotes.catalogue in ipd.toml")


def test_what_it_cannot_read_is_said(built, tmp_path):
    """A release remote that is not a local directory, and a trial the curation repository has no release of."""
    bare, clone = tmp_path / "other.git", tmp_path / "other"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    (clone / "catalogue.toml").write_text('format = "ipd-catalogue/1"\n[remotes]\nrelease = "s3://bucket/releases"\n')
    (clone / "datasets/other/releases").mkdir(parents=True)
    (clone / "datasets/other/releases/v1-commercial.json").write_text("{}\n")
    commit(clone, "another trial")
    result = ipd("catalogue", "audit", f"file://{bare}", "--repo", built["root"])
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout.splitlines() == [
        "not checked s3://bucket/releases: only local directory remotes are read",
        f"not checked datasets/other: {built['root']} records no release of other: its values were not looked for",
        f"file://{bare}: clean (2 blob(s) of 1 commit(s), 0 object(s) of the release remote, for the values removed "
        "by 1 release(s))"]


# -- rules that changed between releases ---------------------------------------------------------------------

# name deleted (an identifier), lab_ref released (by a recorded exception: its values look like record numbers)
V1_RULES = {**RULES, "keep": ["arm", "cd4", "lab_ref"], "exceptions": {"lab_ref": "laboratory batch references"}}
V2_RULES = {**RULES, "identifiers": [], "sensitive": ["drugs", "lab_ref"], "keep": ["arm", "cd4", "name"],
            "exceptions": {"name": "released on purpose, to be audited"}}


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    """t@v1 released under rules that delete name and release lab_ref, t@v2 under rules that release name and
    delete lab_ref, both published to a catalogue by `ipd release` (each publication audited); then v1's plan
    approved again under the new rules (the approval file no longer the one v1's release was built under).
    Audited clean; then a name planted in v1's package and a lab_ref in v2's (each leaks), and the other way
    round in each release's notes and in the catalogue's README (each released by some release: no leak)."""
    base = tmp_path_factory.mktemp("changed")
    with own_home(base / "home"):
        root, bare = base / "curation", base / "catalogue.git"
        assert ipd("init", root, "--remote", base / "restricted", "--catalogue", bare).exit_code == 0
        curation = Curation(root)
        frame = synthetic()
        deliver(curation, frame.assign(lab_ref=[f"LR-{40000 + 7 * i}" for i in range(len(frame))]))
        write_rules(root, V1_RULES)
        approve(curation, "t@v1")
        published = {"v1": release(curation, "t@v1", "noncommercial")}
        write_rules(root, V2_RULES)
        second_version(curation)
        published["v2"] = release(curation, "t@v2", "noncommercial")
        approve(curation, "t@v1")
        clean = ipd("catalogue", "audit", "--repo", root)

        rows = repo.open(root).dataset("t").version("v2").to_pandas()
        values = {"name": rows.name[6], "lab_ref": rows.lab_ref[9]}
        clone = base / "clone"
        git(base, "clone", "-q", str(bare), str(clone))
        planted = {"datasets/t/releases/v1-noncommercial/README.txt": values["name"],
                   "datasets/t/releases/v2-noncommercial/README.txt": values["lab_ref"],
                   "datasets/t/notes/v1-noncommercial.md": values["lab_ref"],
                   "datasets/t/notes/v2-noncommercial.md": values["name"],
                   "README.md": values["name"]}
        for path, value in planted.items():
            with (clone / path).open("a") as file:
                file.write(f"\nWith thanks to {value}.\n")
        leaked = commit(clone, "thanks")
        found = ipd("catalogue", "audit", "--repo", root)

        record = root / "datasets/t/releases/v1-noncommercial.json"
        before = record.read_text()
        record.write_text(before.replace(json.loads(before)["approval"]["plan_sha256"], "0123456789ab" * 5 + "0123"))
        try:
            fallback = ipd("catalogue", "audit", "--repo", root, "--json")
        finally:
            record.write_text(before)
    return {"root": root, "bare": bare, "published": published, "values": values, "leaked": leaked,
            "clean": clean, "found": found, "fallback": fallback}


def test_each_release_is_published_and_audited_under_its_own_rules(changed):
    """v2's package holds name, which v1's rules deleted: v2's publication is not refused for it, and the
    catalogue audits clean although v1's plan was approved again under rules that delete lab_ref."""
    for result in changed["published"].values():
        assert result.exit_code == 0, result.output + result.stderr
    assert changed["clean"].exit_code == 0, changed["clean"].output + changed["clean"].stderr
    assert changed["clean"].stdout.splitlines()[-1].startswith(f"{changed['bare']}: clean (")
    assert changed["clean"].stdout.splitlines()[-1].endswith("for the values removed by 2 release(s))")


def test_a_column_is_looked_for_only_in_the_releases_whose_rules_removed_it(changed):
    """The name in v1's package and the lab_ref in v2's are found; lab_ref in v1's notes, name in v2's notes
    and in the catalogue's README are not (each is released as it is by the release, or by some release)."""
    result, values, commit = changed["found"], changed["values"], changed["leaked"]
    assert result.exit_code == 1, result.output + result.stderr
    secret = ids.read(changed["root"], "t").secret
    v1, v2 = (f"datasets/t/releases/v{n}-noncommercial/README.txt" for n in (1, 2))
    assert result.stdout.splitlines() == [
        f"{v1} (blob {git(changed['bare'], 'rev-parse', '--short=7', f'{commit}:{v1}')}), added in {commit}: "
        f"t.name, deleted (v1-noncommercial): 1 value(s), hash {value_hash(secret, values['name'])}",
        f"{v2} (blob {git(changed['bare'], 'rev-parse', '--short=7', f'{commit}:{v2}')}), added in {commit}: "
        f"t.lab_ref, deleted (v2-noncommercial): 1 value(s), hash {value_hash(secret, values['lab_ref'])}",
        result.stdout.splitlines()[-1]]
    assert result.stdout.splitlines()[-1].startswith(f"{changed['bare']}: 2 finding(s) (")


def test_a_release_whose_plan_cannot_be_recovered_is_audited_under_the_current_rules_and_said_so(changed):
    result = changed["fallback"]
    report = json.loads(result.stdout)
    added = git(changed["root"], "log", "--diff-filter=A", "--format=%h", "--abbrev=7", "--",
                "datasets/t/releases/v1-noncommercial.json")
    assert report["notes"] == [
        "t@v1-noncommercial: built under plan sha256 0123456789ab, which datasets/t/releases/approvals/v1.json "
        f"holds neither now nor in commit {added} (which added its record): looked for what the current approval "
        "removes"]
    # v1's current approval releases name and deletes lab_ref: the planted name in v1's package goes unseen, and
    # v1's own data files, which hold lab_ref, are findings
    v1 = [f for f in report["findings"] if "v1-noncommercial" in f["releases"]]
    assert {f["column"] for f in v1} == {"lab_ref"}
    assert {f["file"] for f in v1} >= {"datasets/t/releases/v1-noncommercial/t.parquet",
                                       "datasets/t/notes/v1-noncommercial.md"}


@pytest.mark.parametrize("path, owner", [
    (paths.record("t", "v1-noncommercial"), ("t", "v1-noncommercial")),
    (f"{paths.package('t', 'v12-commercial')}/t.parquet.dvc", ("t", "v12-commercial")),
    (paths.notes("t", "v2-commercial", "md"), ("t", "v2-commercial")),
    (paths.provenance("t", "v2-noncommercial"), ("t", "v2-noncommercial")),
    (paths.publication("t", "v1-noncommercial"), ("t", "v1-noncommercial")),
    (f"{paths.package('t', 'v1-commercial-2')}/README.txt", ("t", "v1-commercial-2")),
    (paths.notes("t", "v1-commercial-12", "json"), ("t", "v1-commercial-12")),
    (paths.ignore("t"), None), ("datasets/t/dataset.yaml", None), ("datasets/t/extra/staff.parquet", None),
    ("README.md", None), ("catalogue.toml", None),
])
def test_a_catalogue_file_belongs_to_the_release_its_path_names(path, owner):
    assert paths.release_of(path) == owner


# -- finding a value in text ------------------------------------------------------------------------------


@pytest.mark.parametrize("needle, text, found", [
    ("100231", '{"pid": 100231}', True),
    ("100231", "ID R100231 and more", True),  # digits run on from letters: still the number
    ("100231", "1002310", False),
    ("100231", "sha256 ab100231" + "0" * 30, False),  # inside a hash
    ("2015-03-04", "on 2015-03-04T10:00:00", True),
    ("2015-03-04", "12015-03-045", False),
    ("participant 6", "PARTICIPANT\n   6 said", True),
    ("participant 6", "Participant 61", False),
    ("leeds", "from Leeds,", True),
    ("leeds", "Leedsfield", False),
    ("10368", "81.10368,", False),  # a weight's decimals are not a participant's key
    ("10368", "10368.5", False),
    ("10368", "key 10368.", True),
])
def test_a_needle_is_found_only_as_a_whole(needle, text, found):
    assert (Index([needle]).search(text) == {0}) is found


@pytest.mark.parametrize("value, key, looked_for", [
    ("M", False, False), ("T2", False, False), ("York", False, False), ("Leeds", False, True),
    (1, False, False), (12345, False, True), (75.3, False, False), (123.45, False, True), (True, False, False),
    (1001, True, True), (12, True, False), (dt.date(2015, 3, 4), False, True),
])
def test_short_common_values_are_not_looked_for_as_text(value, key, looked_for):
    assert distinctive(renderings(value)[0], value, key) is looked_for


def test_a_date_is_looked_for_in_every_common_spelling():
    assert renderings(dt.date(2015, 3, 4)) == ["2015-03-04", "2015/03/04", "04/03/2015", "03/04/2015", "04.03.2015",
                                               "20150304", "04mar2015", "04-mar-2015", "4 march 2015",
                                               "march 4, 2015"]


def test_a_long_text_is_searched_in_chunks_that_never_cut_a_token(monkeypatch):
    monkeypatch.setattr(matching, "CHUNK", 16)
    index = Index(["100231", "2015-03-04"])
    assert index.search("x" * 12 + " 2015-03-04 " + "y" * 30 + " 100231 ") == {0, 1}
    assert index.search(" " * 25 + "11111" + "100231" + " " * 10) == set()  # a chunk begins at the 1 of 100231


def test_a_shifted_date_is_looked_for_in_text_but_not_in_a_data_table():
    """A shift-mode release holds shifted calendar dates, one of which may equal another participant's original
    date: in a data table only the whole column counts; in any other file the date is a finding."""
    column = Column("t", "visit", "date")
    needles = Needles()
    for text in renderings(dt.date(2015, 3, 4)):
        needles.add(text, Needle(column, "0123456789ab", False))
    scanner = Scanner(needles)
    place = Place("datasets/t/x", ["datasets/t/x"], ["abc1234"])
    table = b"release_id,visit\nR0000001,2015-03-04\nR0000002,2016-01-01\n"
    assert scanner.scan(place, table, "datasets/t/releases/v1-noncommercial/t.csv") == ([], None)
    found, _ = scanner.scan(place, b"visit: 04MAR2015\n", "datasets/t/notes/v1.md")
    assert [(f.column, f.kind, f.hashes) for f in found] == [("visit", "date", ["0123456789ab"])]


def test_a_catalogue_that_is_not_a_git_repository_is_one_line(built, tmp_path):
    result = ipd("catalogue", "audit", tmp_path, "--repo", built["root"])
    assert (result.exit_code, result.stderr.strip()) == (2, f"error: {tmp_path} is not a git repository")
    result = ipd("catalogue", "audit", f"file://{tmp_path}/none.git", "--repo", built["root"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"error: git clone file://{tmp_path}/none.git failed: "), result.stderr


def test_the_sizes_package_metadata_gives_its_files_are_not_read_as_values():
    """A CSV of 50,659 bytes is not participant 50659; the same number anywhere else in the file still is."""
    from repo.catalogue import haystacks

    data = b'{"bytes": 50659, "contentSize": "50659", "note": "participant 50659"}'
    assert haystacks.read(data, "datasets/t/releases/v1-noncommercial/datapackage.json").text == (
        '{"bytes":  0, "contentSize":  0, "note": "participant 50659"}')
    pointer = b"outs:\n- md5: 0b45daf01b45daf01b45daf01b45daf0\n  size: 50659\n  hash: md5\n  path: t.parquet\n"
    assert "50659" not in haystacks.read(pointer, "datasets/t/releases/v1-noncommercial/t.parquet.dvc").text
