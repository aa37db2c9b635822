"""Building releases: real git and DVC, two remotes, exact refusals, and what may never leave restricted storage."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pytest
import yaml

from conftest import git, ipd
from repo.backends import storage
from support.releases import (RULES, approve, built, deliver, linkage, objects, one_line, package, release, released,
                              sha256, synthetic, write_rules)

TIERS = ("noncommercial", "commercial")


def tracked(root: Path, target: str) -> set[str]:
    """The objects DVC stored for a tracked directory: its listing and every file in it."""
    pointer = yaml.safe_load((root / f"{target}.dvc").read_text())["outs"][0]["md5"]
    return {pointer, *storage.directory_listing(root, target).values()}


@pytest.fixture
def approved(trial):
    approve(trial)
    return trial


# -- building -------------------------------------------------------------------------------------------


def test_a_release_is_built_recorded_and_committed(approved):
    root = approved.root
    result = release(approved, "t@v1", "noncommercial")
    assert result.exit_code == 0, result.output + result.stderr
    data = synthetic()
    kept = data[data.share_ok == 1]
    record = json.loads((root / "datasets/t/releases/v1-noncommercial.json").read_text())
    assert result.stdout.splitlines()[0] == (
        f"Released t@v1 (noncommercial): {len(kept)} participants × {len(record['columns'])} variables, "
        f"{len(data) - len(kept)} excluded by consent, fingerprint {record['fingerprint'][7:19]}; "
        f"{len(data)} new release IDs; pushed to the release remote")
    assert sorted(p.name for p in package(root).iterdir()) == sorted(record["files"]) == [
        "README.txt", "datapackage.json", "dictionary.yaml", "disclosure.json", "manifest.json", "modifications.csv",
        "modifications.json", "ro-crate-metadata.json", "t.csv", "t.parquet", "t.xpt"]
    assert {name: sha256(package(root) / name) for name in record["files"]} == record["files"]
    assert (record["trial"], record["version"], record["tier"], record["rows"], record["participant_id"]) == (
        "t", "v1", "noncommercial", len(kept), "pid")
    assert record["excluded"] == {"no_sharing": len(data) - len(kept), "no_commercial": 0}
    assert record["approval"]["by"] == "Dr Approver" and record["approval"]["file"] == "releases/approvals/v1.json"
    table = released(root)
    assert table.column_names[0] == "release_id" and table.column_names == record["columns"]
    assert not {"pid", "name", "drugs", "tech", "randdate"} & set(table.column_names)
    assert not any(str(f.type).startswith(("date", "timestamp")) for f in table.schema)  # no calendar date
    ids = linkage(root)
    assert sorted(table["release_id"].to_pylist()) == sorted(ids[p] for p in kept.pid)
    by_id = dict(zip(table["release_id"].to_pylist(), table["cd4"].to_pylist()))  # cd4 is released as it is
    assert all(by_id[ids[p]] == c for p, c in zip(kept.pid, kept.cd4))
    manifest = json.loads((package(root) / "manifest.json").read_text())
    assert manifest["files"] == {k: v for k, v in record["files"].items() if k != "manifest.json"}
    assert manifest["fingerprint"] == record["fingerprint"]
    assert git(root, "log", "-1", "--format=%s") == f"t v1: noncommercial release ({len(kept)} participants)"
    assert git(root, "status", "--porcelain") == ""
    prov = json.loads((root / "provenance/t/v1-noncommercial.json").read_text())
    assert set(prov["entity"]) == {"ipd:t/releases/v1-noncommercial", "ipd:t/v1", "ipd:t/releases/approvals/v1.json",
                                   *(f"ipd:t/releases/v1-noncommercial/{name}" for name in record["files"])}
    assert set(prov["agent"]) == {"ipd:curator/curator@example.org", "ipd:approver/Dr-Approver", "ipd:tool/ipd-repo/0.1.0"}
    assert list(prov["activity"]) == ["ipd:release/t/v1-noncommercial"]


def test_the_package_documents_itself(approved):
    built(approved)
    folder = package(approved.root)
    readme = (folder / "README.txt").read_text()
    for heading in ("Study overview", "Files", "System requirements", "Reading the SAS transport file",
                    "Frequency distributions of key variables"):
        assert f"\n{heading}\n" in readme
    assert 'libname xptfile xport "t.xpt" access=readonly;' in readme  # XPORT version 5, read by SAS 6 on
    assert "approved by Dr Approver" in readme and "pycanon" in readme
    assert "\narm (arm)\n" in readme and "\nage (age, in bands)\n" in readme and "  90+ " in readme
    dictionary = yaml.safe_load((folder / "dictionary.yaml").read_text())
    assert [c["name"] for c in dictionary["columns"]] == released(approved.root).column_names
    assert all(c["recoding"] for c in dictionary["columns"] if c["name"] in ("release_id", "site", "age"))
    log = pd.read_csv(folder / "modifications.csv")
    assert list(log.columns) == ["variable", "action", "parameters", "rows_affected", "rationale"]
    assert set(log.variable) >= {"pid", "name", "tech", "drugs", "site", "karnof", "wtkg"}
    import pyreadstat

    frame, meta = pyreadstat.read_xport(str(folder / "t.xpt"))
    assert len(frame) == released(approved.root).num_rows
    assert all(len(name) <= 8 for name in frame.columns)
    shortened = {c["name"]: c["xpt_name"] for c in dictionary["columns"] if "xpt_name" in c}
    assert shortened == {name: short for name, short in zip(released(approved.root).column_names, frame.columns)
                         if name != short}
    assert shortened["release_id"] == "release"
    labels = dict(zip(meta.column_names, meta.column_labels))
    assert labels["release"].startswith("release_id")
    when = json.loads((approved.root / "datasets/t/releases/v1-noncommercial.json").read_text())["approval"]["when"]
    stamp = dt.datetime.fromisoformat(when).strftime("%d%b%y:%H:%M:%S").upper().encode()
    head = (folder / "t.xpt").read_bytes()[:800]
    assert head.count(stamp) == 4  # the approval's time is the only time in a package


def test_building_twice_gives_identical_files(approved, tmp_path):
    first = built(approved)
    head = git(approved.root, "rev-parse", "HEAD")
    again = release(approved, "t@v1", "noncommercial", "--out", tmp_path / "copy")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[0] == (f"t@v1 (noncommercial) was released already; rebuilding it gave the same "
                                            f"files (fingerprint {first['fingerprint'][7:19]})")
    assert {p.name: sha256(p) for p in (tmp_path / "copy").iterdir()} == first["files"]
    assert git(approved.root, "rev-parse", "HEAD") == head
    # a fresh clone holds no data: it rebuilds from the restricted remote, linkage included, to the same bytes
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(approved.root), str(clone)], check=True)
    result = ipd("release", "t@v1", "--tier", "noncommercial", "--repo", clone, "--json", "--out", tmp_path / "c2")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["built"] is False
    assert {p.name: sha256(p) for p in (tmp_path / "c2").iterdir()} == first["files"]


def test_both_tiers_exclude_who_refused(approved):
    data = synthetic()
    for tier in TIERS:
        built(approved, "t@v1", tier)
    ids, commercial_ids = linkage(approved.root), linkage(approved.root, "commercial")
    sharing = data[data.share_ok == 1]
    commercial = sharing[sharing.commercial_ok == 1]
    assert sorted(released(approved.root)["release_id"].to_pylist()) == sorted(ids[p] for p in sharing.pid)
    assert sorted(released(approved.root, tier="commercial")["release_id"].to_pylist()) == \
        sorted(commercial_ids[p] for p in commercial.pid)
    record = json.loads((approved.root / "datasets/t/releases/v1-commercial.json").read_text())
    assert record["excluded"] == {"no_sharing": len(data) - len(sharing), "no_commercial": len(sharing) - len(commercial)}


def test_consent_given_as_id_lists(trial):
    data = synthetic()
    folder = trial.root / "datasets/t/source/consent"  # beside the deliveries, in restricted storage
    folder.mkdir()
    refused = [int(p) for p in data.pid[:7]]
    no_commercial = [int(p) for p in data.pid[5:20]]
    (folder / "no-sharing.csv").write_text("pid\n" + "".join(f"{p}\n" for p in refused))
    (folder / "no-commercial.txt").write_text("".join(f"{p}\n" for p in no_commercial))
    write_rules(trial.root, {**RULES, "consent": {"no_sharing": {"file": "source/consent/no-sharing.csv"},
                                                  "no_commercial": {"file": "source/consent/no-commercial.txt"}}})
    approve(trial)
    for tier in TIERS:
        built(trial, "t@v1", tier)
    ids, commercial_ids = linkage(trial.root), linkage(trial.root, "commercial")
    everyone = set(data.pid)
    assert set(released(trial.root)["release_id"].to_pylist()) == {ids[p] for p in everyone - set(refused)}
    assert set(released(trial.root, tier="commercial")["release_id"].to_pylist()) == \
        {commercial_ids[p] for p in everyone - set(refused) - set(no_commercial)}


def test_a_missing_consent_list_is_refused(trial):
    write_rules(trial.root, {**RULES, "consent": {"no_sharing": {"file": "source/consent/no-sharing.csv"},
                                                  "no_commercial": {"file": "source/consent/no-commercial.csv"}}})
    listed = trial.root / "datasets/t/source/consent/no-sharing.csv"
    listed.parent.mkdir()
    listed.write_text("")  # nobody refused: an empty list is a statement
    (listed.parent / "no-commercial.csv").write_text("")
    approve(trial)
    listed.unlink()
    before = trial.state()
    assert one_line(release(trial, "t@v1", "noncommercial")) == (
        "datasets/t/source/consent/no-sharing.csv: no such file (the ID list of release.consent.no_sharing)")
    assert trial.state() == before


def test_rules_silent_on_consent_are_not_approved(trial):
    write_rules(trial.root, {k: v for k, v in RULES.items() if k != "consent"} | {"keep": ["arm", "cd4", "share_ok",
                                                                                              "commercial_ok"]})
    before = trial.state()
    result = ipd("release", "approve", "t@v1", "--by", "Dr A", "--repo", trial.root)
    assert one_line(result) == (
        "t: no rule says who refused sharing beyond the study (release.consent.no_sharing in "
        "datasets/t/dataset.yaml): record it with `ipd release consent t FILE --refused sharing` (or "
        "`--none --reason TEXT` if nobody did)")
    assert trial.state() == before


# -- release IDs and the linkage ------------------------------------------------------------------------


def test_a_participant_keeps_its_release_id_after_a_correction(approved):
    first = built(approved)
    ids = linkage(approved.root)
    ipd("correct", "t", "--key", "100010", "--column", "cd4", "--value", "999", "--reason", "CRF page 4",
        "--repo", approved.root)
    assert ipd("commit", "t", "-m", "query round 1", "--repo", approved.root).exit_code == 0
    approve(approved, "t@v2")
    second = built(approved, "t@v2")
    assert second["new_ids"] == 0 and linkage(approved.root) == ids
    table = released(approved.root, "v2")
    assert table.filter(pc.equal(table["release_id"], ids[100010]))["cd4"].to_pylist() == [999]
    assert first["fingerprint"] != second["fingerprint"]


def test_a_participant_keeps_its_release_id_after_a_redelivery(approved):
    built(approved)
    ids = linkage(approved.root)
    data = synthetic()
    redelivered = pd.concat([data.iloc[1:], synthetic(1, seed=99).assign(pid=200001, share_ok=1)])
    deliver(approved, redelivered, "t2.parquet")
    approve(approved, "t@v2")
    assert built(approved, "t@v2")["new_ids"] == 1
    now = linkage(approved.root)
    assert {p: now[p] for p in ids} == ids  # everyone keeps their ID, the removed participant's is not reused
    assert now[200001] not in ids.values()
    assert ids[100002] in released(approved.root, "v2")["release_id"].to_pylist()
    assert ids[100001] not in released(approved.root, "v2")["release_id"].to_pylist()


def test_lookup_translates_a_release_id_back(approved):
    built(approved)
    rid = linkage(approved.root)[100005]
    result = ipd("release", "lookup", "t", rid, "--repo", approved.root)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == \
        f"{rid} is pid 100005 in t (noncommercial release ID, given in the release of t@v1)"
    result = ipd("release", "lookup", "t", rid, "--repo", approved.root, "--json")
    assert json.loads(result.stdout) == {"trial": "t", "release_id": rid, "tier": "noncommercial", "key_column": "pid",
                                         "key": 100005, "assigned": "v1"}
    unknown = "R" + "9" * (len(rid) - 1)
    assert one_line(ipd("release", "lookup", "t", unknown, "--repo", approved.root)) == \
        f"no participant of t has the release ID {unknown}"
    assert one_line(ipd("release", "lookup", "t", "100005", "--repo", approved.root)) == \
        "invalid release ID '100005': release IDs look like R1234567"


def test_the_linkage_stays_in_restricted_storage(approved):
    for tier in TIERS:
        built(approved, "t@v1", tier)
    root, restricted, releases = approved.root, approved.remote, approved.remote.parent / "remote-release"
    packages = tracked(root, "datasets/t/releases/v1-noncommercial") | tracked(root, "datasets/t/releases/v1-commercial")
    links = tracked(root, "datasets/t/linkage")
    pushed = objects(releases)
    assert pushed == packages  # the release remote holds the packages and nothing else
    assert not links & pushed  # in particular, not the linkage
    assert links <= objects(restricted)
    assert not packages & objects(restricted)  # and the restricted remote holds no release file
    for tier in TIERS:
        names = {p.name for p in package(root, "v1", tier).iterdir()}
        assert not any("linkage" in n or n.endswith(".key") for n in names)
        assert "pid" not in released(root, "v1", tier).column_names
    assert "/linkage" in (root / "datasets/t/.gitignore").read_text()  # never in git either


# -- refusals --------------------------------------------------------------------------------------------


def test_without_approval_the_release_is_refused(trial):
    before = trial.state()
    assert one_line(release(trial, "t@v1", "noncommercial")) == (
        "t@v1 has no approved release plan: run `ipd release plan t@v1` and `ipd release approve t@v1 --by NAME`")
    assert trial.state() == before


def test_rules_changed_since_the_approval_are_refused(approved):
    write_rules(approved.root, {**RULES, "min_cell": 6})
    before = approved.state()
    message = one_line(release(approved, "t@v1", "noncommercial"))
    assert message.startswith("the release rules of t@v1 changed since its approved plan (sha256 ")
    assert message.endswith("review `ipd release plan t@v1` and approve again")
    assert approved.state() == before


def test_an_identifying_column_is_refused_by_name(tmp_repo):
    data = synthetic().assign(contact=lambda d: [f"p{i}@example.org" for i in range(len(d))])
    deliver(tmp_repo, data)
    write_rules(tmp_repo.root, RULES)
    assert one_line(ipd("release", "plan", "t", "--repo", tmp_repo.root)) == (  # the content scan stops the plan
        "datasets/t/dataset.yaml: release: contact is released as it is (no rule names it) but holds e-mail "
        "addresses (400 of 400 values, e.g. 'p***@***.org'): delete it (release.identifiers) or record why it may "
        "be released (release.exceptions.contact: REASON)")
    # an exception, once approved, is the curator's decision: the last look before the package is written honours
    # it, and the approval records it
    write_rules(tmp_repo.root, {**RULES, "exceptions": {"contact": "the study's shared mailbox"}})
    approve(tmp_repo)
    assert release(tmp_repo, "t@v1", "commercial").exit_code == 0
    approval = json.loads((tmp_repo.root / "datasets/t/releases/approvals/v1.json").read_text())
    assert approval["rules"]["exceptions"] == {"contact": "the study's shared mailbox"}


def test_a_failed_push_leaves_the_repository_as_it_was(approved, monkeypatch):
    real = storage.push

    def push(root, targets, remote=storage.RESTRICTED_REMOTE):
        if any(t.endswith("linkage") for t in targets):
            raise storage.StorageError("pushing to the DVC remote failed: no space left on device")
        return real(root, targets, remote)

    monkeypatch.setattr(storage, "push", push)
    before = approved.state()
    assert one_line(release(approved, "t@v1", "noncommercial")) == \
        "pushing to the DVC remote failed: no space left on device"
    assert approved.state() == before
    monkeypatch.setattr(storage, "push", real)
    assert built(approved)["built"] is True


@pytest.mark.parametrize("args, message", [
    (["t@v1", "--tier", "public"], "unknown tier 'public'; choose noncommercial or commercial"),
    (["t@v9", "--tier", "commercial"], "t has no version v9 (latest is v1)"),
    (["nosuch@v1", "--tier", "commercial"], "no trial 'nosuch' in {root} (see `ipd list`)"),
])
def test_bad_arguments(approved, args, message):
    result = ipd("release", *args, "--repo", approved.root)
    assert one_line(result) == message.format(root=approved.root)


def test_out_must_be_a_new_directory(approved, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert one_line(release(approved, "t@v1", "commercial", "--out", tmp_path / "full")) == \
        f"{tmp_path / 'full'} exists and is not an empty directory; choose another --out"


def test_a_repository_without_a_release_remote(approved, tmp_path):
    config = approved.root / ".dvc" / "config"
    text = config.read_text()
    config.write_text(text[: text.index("['remote \"release\"']")])  # as repositories made before releases
    git(approved.root, "commit", "-qam", "an older repository")
    before = approved.state()
    assert one_line(release(approved, "t@v1", "commercial")) == (
        f"{approved.root} has no release remote: add one with `ipd remote release URL` (a directory or any DVC "
        "URL, separate from the restricted remote)")
    assert approved.state() == before
    assert one_line(ipd("remote", "release", approved.remote, "--repo", approved.root)) == (
        f"{approved.remote} is already the restricted remote: releases and restricted data must be stored apart, "
        "so that access to one is not access to the other")
    result = ipd("remote", "release", tmp_path / "releases", "--repo", approved.root)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"release     {tmp_path / 'releases'}"
    assert git(approved.root, "log", "-1", "--format=%s") == f"ipd remote release {tmp_path / 'releases'}"
    built(approved, "t@v1", "commercial")
    assert objects(tmp_path / "releases")
