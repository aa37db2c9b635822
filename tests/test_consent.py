"""ipd release consent: ID lists checked against the trial and kept in restricted storage, explicit statements that
nobody refused, one commit or nothing, and releases that exclude exactly who refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import repo
from conftest import git, ipd
from repo.backends import storage
from repo.backends.hashing import md5_of, sha256_of
from repo.release.plan import plan
from support.releases import (RULES, approve, built, deliver, linkage, objects, one_line, released, synthetic,
                              write_rules)

NO_CONSENT = {k: v for k, v in RULES.items() if k != "consent"} | {"keep": ["arm", "cd4", "share_ok",
                                                                            "commercial_ok"]}
PUBLIC = "public data set; no consent restrictions were delivered"


@pytest.fixture
def trial(tmp_repo):
    """A trial with release rules that say nothing of consent (its consent columns are kept as data)."""
    deliver(tmp_repo, synthetic())
    write_rules(tmp_repo.root, NO_CONSENT)
    return tmp_repo


def consent(tmp_repo, *args: str | Path):
    return ipd("release", "consent", *args, "--repo", tmp_repo.root)


def ok(result) -> str:
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def id_list(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def recorded(root: Path) -> dict:
    return yaml.safe_load((root / "datasets/t/dataset.yaml").read_text())["release"]["consent"]


def test_nobody_refused_is_a_statement_with_who_when_and_why(trial):
    head = git(trial.root, "rev-parse", "HEAD")
    out = ok(consent(trial, "t", "--refused", "sharing", "--none", "--reason", PUBLIC))
    assert out.strip() == (f"Recorded for t: nobody refused sharing beyond the study ({PUBLIC}); "
                           "release.consent.no_sharing in datasets/t/dataset.yaml")
    statement = recorded(trial.root)["no_sharing"]
    assert statement == {"none": True, "reason": PUBLIC, "by": "Test Curator <curator@example.org>",
                         "when": statement["when"]}
    assert git(trial.root, "rev-parse", "HEAD~1") == head
    assert git(trial.root, "show", "--name-only", "--format=", "HEAD") == "datasets/t/dataset.yaml"
    assert git(trial.root, "log", "-1", "--format=%s") == \
        f"t: consent: nobody refused sharing beyond the study ({PUBLIC})"
    assert git(trial.root, "status", "--porcelain") == ""
    listing = json.loads(ok(consent(trial, "t", "--json")))
    assert listing == {"trial": "t", "consent": {"no_sharing": statement, "no_commercial": None},
                       "missing": {"noncommercial": [], "commercial": ["no_commercial"]}}
    text = ok(consent(trial, "t")).splitlines()
    assert text[1] == (f"  refused sharing beyond the study: nobody ({PUBLIC}); recorded by Test Curator "
                       f"<curator@example.org> on {statement['when'][:10]}")
    assert text[2:] == [
        "  refused commercial use: not recorded", "  noncommercial: consent recorded",
        "  commercial: cannot be released yet: no rule says who refused commercial use: record it with "
        "`ipd release consent t FILE --refused commercial` (or `--none --reason TEXT` if nobody did)"]


def test_an_id_list_is_kept_as_received_in_restricted_storage_only(trial, tmp_path):
    data = synthetic()
    received = id_list(tmp_path, "opt-outs.csv", "site,pid\nLeeds,%d\nYork,%d\n" % (data.pid[3], data.pid[9]))
    out = ok(consent(trial, "t", received, "--refused", "commercial", "--reason", "site opt-out forms"))
    kept = "source/consent/no_commercial/1/opt-outs.csv"
    assert out.strip() == (
        f"Recorded for t: 2 participant(s) refused commercial use; the list is kept as datasets/t/{kept} (pushed to "
        "the restricted remote only), release.consent.no_commercial in datasets/t/dataset.yaml")
    path = trial.root / "datasets/t" / kept
    assert path.read_bytes() == received.read_bytes()
    statement = recorded(trial.root)["no_commercial"]
    assert statement == {"file": kept, "sha256": sha256_of(received), "reason": "site opt-out forms",
                         "by": "Test Curator <curator@example.org>", "when": statement["when"]}
    # one commit: the rule and DVC's pointer to source/ (the list itself is in DVC, never in git)
    assert sorted(git(trial.root, "show", "--name-only", "--format=", "HEAD").split()) == \
        ["datasets/t/dataset.yaml", "datasets/t/source.dvc"]
    assert git(trial.root, "status", "--porcelain") == ""
    assert storage.directory_listing(trial.root, "datasets/t/source")[kept.removeprefix("source/")] == md5_of(path)
    assert md5_of(path) in objects(trial.remote)
    assert md5_of(path) not in objects(trial.remote.parent / "remote-release")
    # the release builds push nothing of it to the release remote either
    ok(consent(trial, "t", "--refused", "sharing", "--none", "--reason", PUBLIC))
    approve(trial)
    built(trial, "t@v1", "commercial")
    pushed = objects(trial.remote.parent / "remote-release")
    assert pushed and md5_of(path) not in pushed


def test_a_new_list_is_a_new_file(trial, tmp_path):
    data = synthetic()
    ok(consent(trial, "t", id_list(tmp_path, "refused.txt", f"{data.pid[0]}\n"), "--refused", "sharing"))
    first = trial.root / "datasets/t/source/consent/no_sharing/1/refused.txt"
    before = first.read_bytes()
    assert one_line(consent(trial, "t", id_list(tmp_path, "refused.txt", f"{data.pid[1]}\n"), "--refused",
                            "sharing")) == (
        "datasets/t/dataset.yaml: release.consent.no_sharing is recorded already (the ID list "
        "source/consent/no_sharing/1/refused.txt): give --replace to record a new statement (a list kept before "
        "stays in restricted storage)")
    out = ok(consent(trial, "t", tmp_path / "refused.txt", "--refused", "sharing", "--replace"))
    assert out.splitlines()[-1] == \
        "  (replacing the previous statement: plan and approve again before the next release)"
    assert first.read_bytes() == before
    assert recorded(trial.root)["no_sharing"]["file"] == "source/consent/no_sharing/2/refused.txt"
    assert git(trial.root, "log", "-1", "--format=%s") == (
        "t: consent: 1 participant(s) refused sharing beyond the study (source/consent/no_sharing/2/refused.txt) "
        "(replacing the previous statement)")
    assert set(storage.directory_listing(trial.root, "datasets/t/source")) >= \
        {"consent/no_sharing/1/refused.txt", "consent/no_sharing/2/refused.txt", "v1/t.parquet"}


@pytest.mark.parametrize("name, text, args, message", [
    ("ids.csv", "pid\n100001\n100002\n999\n", [], "{file}: line 4: pid 999 is not a participant of t@v1 "
                                                 "(the latest version)"),
    ("ids.txt", "100001\n100002\n100001\n", [], "{file}: line 3: pid 100001 is listed twice (first on line 1)"),
    ("ids.txt", "100001\nP-2\n", [], "{file}: line 2: 'P-2' is not a pid (int64)"),
    ("ids.csv", "patient,x\n100001,1\n", ["--id-column", "patid"],
     "{file}: line 1: no column 'patid' in the header (patient, x)"),
    ("ids.csv", "pid\n", [], "{file}: holds no IDs; if nobody refused sharing beyond the study, say so with --none "
                             "--reason TEXT"),
    ("ids.csv", "pid\n100001\n", ["--refused", "selling"],
     "--refused 'selling': choose sharing (beyond the study) or commercial (use)"),
    (None, None, ["--none"], "--none needs --reason: say why nobody refused sharing beyond the study (silence is "
                             "not consent)"),
    ("ids.csv", "pid\n100001\n", ["--none", "--reason", "x"],
     "give either the FILE of IDs of those who refused, or --none with --reason (nobody did)"),
])
def test_refusals_are_one_line_and_change_nothing(trial, tmp_path, name, text, args, message):
    file = id_list(tmp_path, name, text) if name else None
    if "--refused" not in args:
        args = [*args, "--refused", "sharing"]
    before = trial.state()
    assert one_line(consent(trial, "t", *([file] if file else []), *args)) == message.format(file=file)
    assert trial.state() == before


def test_unknown_trial_and_missing_file(trial, tmp_path):
    assert one_line(consent(trial, "nope", "--refused", "sharing", "--none", "--reason", PUBLIC)) == \
        f"no trial 'nope' in {trial.root} (see `ipd list`)"
    assert one_line(consent(trial, "t", tmp_path / "absent.csv", "--refused", "sharing")) == \
        f"{tmp_path / 'absent.csv'}: no such file"
    assert one_line(consent(trial, "t", tmp_path / "absent.csv")) == \
        "say what was refused: --refused sharing or --refused commercial"


def test_a_failed_record_leaves_the_repository_as_it_was(trial, tmp_path):
    """The commit fails (a hook refuses it) after the list was stored and pushed: nothing of it stays."""
    hook = trial.root / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho refused by policy >&2\nexit 1\n")
    hook.chmod(0o755)
    before = trial.state()
    result = consent(trial, "t", id_list(tmp_path, "ids.csv", "pid\n100001\n"), "--refused", "sharing")
    assert result.exit_code != 0
    assert "git commit" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert trial.state() == before
    assert not (trial.root / "datasets/t/source/consent").exists()
    assert "consent/no_sharing/1/ids.csv" not in storage.directory_listing(trial.root, "datasets/t/source")
    hook.unlink()
    ok(consent(trial, "t", tmp_path / "ids.csv", "--refused", "sharing"))  # and it works once allowed


def test_plan_lists_the_consent_each_tier_lacks(trial):
    lines = ok(ipd("release", "plan", "t", "--repo", trial.root)).splitlines()
    how = "record it with `ipd release consent t FILE --refused {}` (or `--none --reason TEXT` if nobody did)"
    assert lines[2:4] == [
        f"  noncommercial: no rule says who refused sharing beyond the study: {how.format('sharing')}",
        f"  commercial: no rule says who refused sharing beyond the study: {how.format('sharing')}; no rule says "
        f"who refused commercial use: {how.format('commercial')}"]
    ok(consent(trial, "t", "--refused", "sharing", "--none", "--reason", PUBLIC))
    lines = ok(ipd("release", "plan", "t", "--repo", trial.root)).splitlines()
    when = recorded(trial.root)["no_sharing"]["when"][:10]
    assert lines[2:5] == [
        "  noncommercial: 0 excluded by consent (0 refused sharing)",
        f"  commercial: no rule says who refused commercial use: {how.format('commercial')}",
        f"  nobody refused sharing beyond the study: {PUBLIC} (recorded by Test Curator <curator@example.org> on "
        f"{when})"]
    found = json.loads(ok(ipd("release", "plan", "t", "--json", "--repo", trial.root)))
    assert found["consent_missing"] == {"noncommercial": [], "commercial": ["no_commercial"]}
    assert found["rules"]["consent"]["no_sharing"]["reason"] == PUBLIC


def test_consent_recorded_before_the_rules_is_kept_by_the_proposal(tmp_repo):
    """Consent alone is not release rules: the plan still proposes them, and --save keeps the consent."""
    deliver(tmp_repo, synthetic())
    ok(consent(tmp_repo, "t", "--refused", "sharing", "--none", "--reason", PUBLIC))
    assert json.loads(ok(ipd("release", "plan", "t", "--json", "--repo", tmp_repo.root)))["source"] == "proposed"
    ok(ipd("release", "plan", "t", "--save", "--repo", tmp_repo.root))
    assert recorded(tmp_repo.root)["no_sharing"]["reason"] == PUBLIC


def test_releases_exclude_exactly_who_refused_per_tier(trial, tmp_path):
    data = synthetic()
    refused = [int(p) for p in data.pid[10:16]]
    ok(consent(trial, "t", "--refused", "sharing", "--none", "--reason", PUBLIC))
    ok(consent(trial, "t", id_list(tmp_path, "no-commercial.txt", "".join(f"{p}\n" for p in refused)),
               "--refused", "commercial"))
    approve(trial)
    noncommercial, commercial = built(trial, "t@v1", "noncommercial"), built(trial, "t@v1", "commercial")
    assert (noncommercial["rows"], noncommercial["excluded"]) == (len(data), {"no_sharing": 0, "no_commercial": 0})
    assert (commercial["rows"], commercial["excluded"]) == (len(data) - 6, {"no_sharing": 0, "no_commercial": 6})
    ids, commercial_ids = linkage(trial.root), linkage(trial.root, "commercial")
    everyone = set(int(p) for p in data.pid)
    assert set(released(trial.root)["release_id"].to_pylist()) == {ids[p] for p in everyone}
    assert set(released(trial.root, tier="commercial")["release_id"].to_pylist()) == \
        {commercial_ids[p] for p in everyone - set(refused)}


def test_a_fresh_clone_fetches_the_list_from_restricted_storage(trial, tmp_path):
    data = synthetic()
    ok(consent(trial, "t", id_list(tmp_path, "ids.txt", f"{data.pid[0]}\n{data.pid[1]}\n"), "--refused", "sharing"))
    ok(consent(trial, "t", "--refused", "commercial", "--none", "--reason", PUBLIC))
    expected = plan(repo.open(trial.root), "t", "v1")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(trial.root), str(clone))
    found = plan(repo.open(clone), "t", "v1")
    assert (found.sha256, [t.excluded["no_sharing"] for t in found.tiers]) == (expected.sha256, [2, 2])
    assert (clone / "datasets/t/source/consent/no_sharing/1/ids.txt").is_file()
