"""``ipd verify``: a sound repository verifies; each kind of tampering is named precisely, exit code 1."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import git, ipd
from support.verify import flip_a_byte, record

# -- each test tampers with its own `copy` (conftest.py) of a repository with every kind of object: delivery,
#    re-delivery, corrections, a release


def verify(root: Path, *args: str) -> tuple[int, list[dict]]:
    result = ipd("verify", "--repo", root, "--json", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, json.loads(result.stdout)["problems"]


def only_in_v3(root: Path) -> dict:
    """A part the correction rewrote: it belongs to v3 alone."""
    earlier = {p["md5"] for v in ("v1", "v2") for p in record(root, v)["parts"]}
    return next(p for p in record(root, "v3")["parts"] if p["md5"] not in earlier)


def commit_of(root: Path, path: str) -> str:
    return git(root, "log", "--diff-filter=A", "--format=%H", "--", path).split()[-1]


# -- tests ---------------------------------------------------------------------------------------------


def test_a_sound_repository_verifies(copy):
    result = ipd("verify", "--repo", copy, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"success": True, "trials": ["t"], "problems": [], "not_checked": [],
                                         "unreferenced": []}
    assert ipd("verify", "t", "--repo", copy).stdout.strip() == "t: verified"


def test_a_changed_byte_of_a_part_in_the_cache(copy):
    part = only_in_v3(copy)
    md5 = flip_a_byte(copy / ".dvc/cache/files/md5" / part["md5"][:2] / part["md5"][2:])
    assert verify(copy) == (1, [{"object": f"part {part['name']} of t@v3 in the DVC cache",
                                 "problem": f"has MD5 {md5}, but the version record says {part['md5']}"}])


def test_a_changed_byte_of_a_part_in_the_remote(copy):
    part = only_in_v3(copy)
    remote = copy.parent / "remote"
    md5 = flip_a_byte(remote / "files/md5" / part["md5"][:2] / part["md5"][2:])
    assert verify(copy) == (1, [{"object": f"part {part['name']} of t@v3 in the remote {remote}",
                                 "problem": f"has MD5 {md5}, but the version record says {part['md5']}"}])


def test_a_part_missing_from_the_remote(copy):
    part = only_in_v3(copy)
    remote = copy.parent / "remote"
    (remote / "files/md5" / part["md5"][:2] / part["md5"][2:]).unlink()
    assert verify(copy) == (1, [{"object": f"part {part['name']} of t@v3 in the remote {remote}",
                                 "problem": "is missing"}])


def test_rows_that_do_not_match_the_fingerprint(copy):
    """Parts whose MD5s were rewritten to match (record, PROV, cache) still fail on their rows."""
    code, problems = verify(copy)
    assert code == 0
    path = copy / "datasets/t/versions/v1.json"
    data = json.loads(path.read_text())
    data["parts"][0]["sum"] = "0" * 32
    path.write_text(json.dumps(data, indent=2) + "\n")
    code, problems = verify(copy)
    assert code == 1
    assert {"object": "t@v1", "problem": f"the rows of part {data['parts'][0]['name']} do not match the version "
                                         "record"} in problems


@pytest.mark.parametrize("commit_it", [False, True])
def test_an_edited_correction_entry(copy, commit_it):
    log = copy / "datasets/t/corrections.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace('"reason": "CRF"', '"reason": "CRF page 2"')
    log.write_text("".join(lines))
    if commit_it:
        git(copy, "commit", "-qam", "edit the log")
    entry = "entry c1 of datasets/t/corrections.jsonl (line 1)"
    assert verify(copy, "t") == (1, [
        {"object": entry, "problem": "was edited: it differs from the entry the commit of v3 holds"},
        {"object": entry, "problem": "does not hash to the ipd:entriesSha256 of provenance/t/v3.json"}])


def test_a_deleted_correction_entry(copy):
    log = copy / "datasets/t/corrections.jsonl"
    log.write_text(log.read_text().splitlines(keepends=True)[0])
    assert verify(copy) == (1, [
        {"object": "entry c2 of datasets/t/corrections.jsonl (line 2)",
         "problem": "was deleted (the commit of v3 holds it)"},
        {"object": "entry c2 of datasets/t/corrections.jsonl",
         "problem": "is missing, but datasets/t/versions/v3.json applied it"}])


def test_a_moved_tag(copy):
    v2, v3 = commit_of(copy, "datasets/t/versions/v2.json"), commit_of(copy, "datasets/t/versions/v3.json")
    git(copy, "tag", "-f", "-a", "t/v2", v3, "-m", "moved")
    assert verify(copy) == (1, [{"object": "tag t/v2",
                                 "problem": f"points at commit {v3[:12]}, but datasets/t/versions/v2.json was "
                                            f"added in commit {v2[:12]}"}])


def test_a_clone_without_tags_verifies(copy):
    for tag in git(copy, "tag", "--list").split():
        git(copy, "tag", "-d", tag)
    assert verify(copy) == (0, [])


def test_an_edited_version_record(copy):
    path = copy / "datasets/t/versions/v2.json"
    path.write_text(path.read_text().replace('"message": "Re-delivery t2.parquet"', '"message": "Re-delivery"'))
    added = commit_of(copy, "datasets/t/versions/v2.json")
    assert verify(copy) == (1, [{"object": "datasets/t/versions/v2.json",
                                 "problem": f"differs from the record added in commit {added[:12]}: it was edited "
                                            "after it was written"}])


def _edit_prov(root: Path, version: str) -> tuple[str, str, str]:
    path = root / f"provenance/t/{version}.json"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(path.read_text().replace("Test Curator", "Someone Else"))
    return before, hashlib.sha256(path.read_bytes()).hexdigest(), commit_of(root, f"provenance/t/{version}.json")


def test_an_edited_prov_record_in_the_middle_of_the_chain(copy):
    before, after, added = _edit_prov(copy, "v1")
    assert verify(copy) == (1, [
        {"object": "provenance/t/v1.json",
         "problem": f"differs from the record added in commit {added[:12]}: it was edited after it was written"},
        {"object": "provenance/t/v2.json",
         "problem": f"ipd:previousRecordSha256 is {before}, but provenance/t/v1.json hashes to {after}"}])


def test_an_edited_latest_prov_record(copy):
    before, after, added = _edit_prov(copy, "v3")
    assert verify(copy) == (1, [
        {"object": "provenance/t/v3.json",
         "problem": f"differs from the record added in commit {added[:12]}: it was edited after it was written"},
        {"object": "provenance/t/v3-noncommercial.json",
         "problem": f"ipd:provenanceRecordSha256 is {before}, but provenance/t/v3.json hashes to {after}"}])


@pytest.mark.parametrize("where", ["cache", "remote"])
def test_a_changed_release_file(copy, where):
    release = json.loads((copy / "datasets/t/releases/v3-noncommercial.json").read_text())
    listing = {e["relpath"]: e["md5"] for e in json.loads(
        (copy / ".dvc/cache/files/md5" / _dir_md5(copy)[:2] / _dir_md5(copy)[2:]).read_text())}
    store, label = ((copy / ".dvc/cache", "the DVC cache") if where == "cache" else
                    (copy.parent / "remote-release", f"the release remote {copy.parent / 'remote-release'}"))
    path = store / "files/md5" / listing["t.csv"][:2] / listing["t.csv"][2:]
    flip_a_byte(path, 10)
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    assert verify(copy) == (1, [{"object": f"file t.csv of release t@v3 (noncommercial) in {label}",
                                 "problem": f"has SHA-256 {found}, but the release record says "
                                            f"{release['files']['t.csv']}"}])


def test_a_release_file_the_cache_no_longer_holds_is_not_a_problem_while_the_remote_has_it(copy):
    """A cache holds what was built or pulled on this machine; packages share files (a reissue keeps the ones
    that did not change), so a cache may hold part of an older package. Only the release remote must hold all."""
    listing = {e["relpath"]: e["md5"] for e in json.loads(
        (copy / ".dvc/cache/files/md5" / _dir_md5(copy)[:2] / _dir_md5(copy)[2:]).read_text())}
    (copy / ".dvc/cache/files/md5" / listing["README.txt"][:2] / listing["README.txt"][2:]).unlink()
    assert verify(copy) == (0, [])


def _dir_md5(root: Path) -> str:
    import yaml

    return yaml.safe_load((root / "datasets/t/releases/v3-noncommercial.dvc").read_text())["outs"][0]["md5"]


def test_validate_reports_what_verify_finds(copy):
    v2, v3 = commit_of(copy, "datasets/t/versions/v2.json"), commit_of(copy, "datasets/t/versions/v3.json")
    git(copy, "tag", "-f", "-a", "t/v2", v3, "-m", "moved")
    result = ipd("validate", "--repo", copy, "--json")
    assert result.exit_code == 1
    assert {"object": "tag t/v2", "problem": f"points at commit {v3[:12]}, but datasets/t/versions/v2.json was "
                                             f"added in commit {v2[:12]}"} in json.loads(result.stdout)["problems"]


def test_errors_are_one_line(copy, tmp_path):
    result = ipd("verify", "nosuch", "--repo", copy)
    assert result.exit_code == 2 and result.stderr.strip() == f"error: no trial 'nosuch' in {copy} (see `ipd list`)"
    result = ipd("verify", "--repo", tmp_path)
    assert result.exit_code == 2 and result.stderr.strip().startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_entries_are_checked_against_the_prov_records_entry_hashes(copy):
    """A commit's PROV record names its entries' SHA-256s (``ipd:entriesSha256``): an edited line is caught by them
    even where git history was rewritten to hide the edit."""
    from repo.corrections import log as correctionlog

    log = copy / "datasets/t/corrections.jsonl"
    entries = correctionlog.read(log)
    assert correctionlog.entries_sha256(entries) == ",".join(
        f"c{n}:{hashlib.sha256(line.encode()).hexdigest()}" for n, line in enumerate(log.read_text().splitlines(), 1))
    document = json.loads((copy / "provenance/t/v3.json").read_text())
    assert document["entity"]["ipd:t/corrections.jsonl#v3"]["ipd:entriesSha256"] == correctionlog.entries_sha256(entries)
    log.write_text(log.read_text().replace('"reason": "CRF"', '"reason": "CRF page 2"'))
    code, problems = verify(copy)
    assert code == 1
    assert {"object": "entry c1 of datasets/t/corrections.jsonl (line 1)",
            "problem": "does not hash to the ipd:entriesSha256 of provenance/t/v3.json"} in problems


def test_lines_no_commit_wrote_are_named(copy):
    log = copy / "datasets/t/corrections.jsonl"
    entry = json.loads(log.read_text().splitlines()[0])
    written = len(log.read_text().splitlines())
    log.write_text(log.read_text() + json.dumps({**entry, "id": "c99", "version": "v9"}) + "\n" + "not an entry\n")
    code, problems = verify(copy, "t")
    assert code == 1
    assert problems == [
        {"object": f"entry c99 of datasets/t/corrections.jsonl (line {written + 1})",
         "problem": "says version v9 applied it, but there is no such version"},
        {"object": f"line {written + 2} of datasets/t/corrections.jsonl", "problem": "is not an entry of the correction log"}]


def _amend(root: Path, *paths: str) -> None:
    """Rewrite the last commit (the release's) with ``paths`` as they are now: history, not an edit after it."""
    git(root, "add", *paths)
    git(root, "commit", "-q", "--amend", "--no-edit")


def test_an_approver_changed_in_the_release_prov_record_by_rewriting_history(copy):
    prov = "provenance/t/v3-noncommercial.json"
    (copy / prov).write_text((copy / prov).read_text().replace('"Dr Approver"', '"Dr Someone Else"'))
    _amend(copy, prov)
    assert verify(copy) == (1, [
        {"object": prov, "problem": "the approval is attributed to Dr Someone Else, but "
                                    "datasets/t/releases/v3-noncommercial.json says it was approved by Dr Approver"}])


def test_an_approver_changed_in_the_approval_and_prov_record_by_rewriting_history(copy):
    prov, approval = "provenance/t/v3-noncommercial.json", "datasets/t/releases/approvals/v3.json"
    for path in (prov, approval):
        (copy / path).write_text((copy / path).read_text().replace('"Dr Approver"', '"Dr Someone Else"'))
    _amend(copy, prov, approval)
    assert verify(copy) == (1, [
        {"object": prov, "problem": "the approval is attributed to Dr Someone Else, but "
                                    "datasets/t/releases/v3-noncommercial.json says it was approved by Dr Approver"},
        {"object": approval, "problem": "as committed with datasets/t/releases/v3-noncommercial.json does not hash "
                                        "to the approval it names"}])
