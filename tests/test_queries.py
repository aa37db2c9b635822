"""Queries: opened by a curator or by `ipd check --open-queries`, answered (by hand or from the trialists'
CSV), closed and reopened; every command one commit to datasets/TRIAL/queries.jsonl, every refusal one line
that leaves the repository as it was."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import git, ipd

CURATOR = "Test Curator <curator@example.org>"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def run(tmp_repo, *args):
    return ipd(*args, "--repo", tmp_repo.root)


def ok(tmp_repo, *args, code: int = 0):
    result = run(tmp_repo, *args)
    assert result.exit_code == code, result.output + result.stderr
    return result


def _csv(path: Path, rows: dict) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def t1(tmp_repo, tmp_path):
    """Four participants; 2 is too young and 4 too old for 18–50, 3 has no blood pressure."""
    data = {"id": [1, 2, 3, 4], "age": [30, 17, 45, 52], "arm": ["A", "B", "A", "B"], "sbp": [120, 135, None, 128]}
    tmp_repo.ingest("t1", _csv(tmp_path / "t1.csv", data), "--key", "id")
    return tmp_repo


def listed(tmp_repo, trial: str = "t1", *options: str) -> list[dict]:
    """`ipd query list --json`, with every time checked for its form and then blanked."""
    rows = json.loads(ok(tmp_repo, "query", "list", trial, *options, "--json").stdout)
    for row in rows:
        for item in [row, *row["answers"]]:
            for field in ("opened", "closed", "time"):
                if item.get(field) is not None:
                    assert TIME.match(item[field]), item[field]
                    item[field] = "T"
    return rows


def query(qid, key, column, text, *, status="open", check=None, answers=(), closed=None, version="v1") -> dict:
    return {"query": qid, "trial": qid.rsplit("-q", 1)[0], "key": key, "column": column, "text": text,
            "check": check, "version": version, "status": status, "opened": "T", "author": CURATOR,
            "answers": [{"text": a, "author": CURATOR, "time": "T"} for a in answers], "closed": closed}


def messages(root: Path, n: int) -> list[str]:
    return git(root, "log", f"-{n}", "--format=%s").splitlines()


def events(root: Path, trial: str = "t1") -> list[dict]:
    lines = (root / "datasets" / trial / "queries.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


# -- a query's life --------------------------------------------------------------------------------------------

def test_open_answer_close_reopen(t1):
    assert ok(t1, "query", "open", "t1", "--key", "2", "--column", "age", "--text", "Age 17: below the entry age?"
              ).stdout == "t1-q1 opened: key 2, column age\n"
    assert ok(t1, "query", "open", "t1", "--key", " 4 ", "--text", "Consent form missing").stdout == \
        "t1-q2 opened: key 4\n"
    assert ok(t1, "query", "answer", "t1-q1", "--text", "Typo: 71").stdout == "t1-q1 answered (1 answer(s))\n"
    assert ok(t1, "query", "answer", "t1-q1", "--text", "Sorry: 71 is right").stdout == \
        "t1-q1 answered (2 answer(s))\n"
    assert ok(t1, "query", "close", "t1-q2", "--text", "found it").stdout == "t1-q2 closed\n"
    q1 = query("t1-q1", 2, "age", "Age 17: below the entry age?", status="answered",
               answers=["Typo: 71", "Sorry: 71 is right"])
    q2 = query("t1-q2", 4, None, "Consent form missing", status="closed", closed="T")
    assert listed(t1) == [q1, q2]
    assert listed(t1, "t1", "--status", "answered") == [q1]
    assert listed(t1, "t1", "--status", "open") == []

    assert ok(t1, "query", "reopen", "t1-q2").stdout == "t1-q2 reopened\n"
    assert listed(t1, "t1", "--status", "open") == [q2 | {"status": "open", "closed": None}]
    assert messages(t1.root, 6) == ["t1: query q2 reopened", "t1: query q2 closed", "t1: query q1 answered",
                                    "t1: query q1 answered", "t1: query q2 opened", "t1: query q1 opened"]
    assert git(t1.root, "status", "--porcelain") == ""
    logged = events(t1.root)
    assert [(e["query"], e["event"], e["text"]) for e in logged] == [
        ("t1-q1", "open", "Age 17: below the entry age?"), ("t1-q2", "open", "Consent form missing"),
        ("t1-q1", "answer", "Typo: 71"), ("t1-q1", "answer", "Sorry: 71 is right"),
        ("t1-q2", "close", "found it"), ("t1-q2", "reopen", "")]
    assert {k: v for k, v in logged[0].items() if k != "time"} == {
        "query": "t1-q1", "event": "open", "key": 2, "column": "age", "check": None, "version": "v1",
        "text": "Age 17: below the entry age?", "author": CURATOR}


def test_the_table_and_string_keys(tmp_repo, tmp_path):
    """A text key stays text, even when it looks like a number; ids are numbered per trial."""
    tmp_repo.ingest("t2", _csv(tmp_path / "t2.csv", {"pid": ["P01", "P02"], "age": [40, 41]}), "--key", "pid")
    ok(tmp_repo, "query", "open", "t2", "--key", "P02", "--column", "age", "--text", "Check age")
    assert [(q["query"], q["key"]) for q in listed(tmp_repo, "t2")] == [("t2-q1", "P02")]
    table = ok(tmp_repo, "query", "list", "t2").stdout
    assert "t2-q1" in table and "P02" in table and "Check age" in table and "open" in table


# -- refusals --------------------------------------------------------------------------------------------------

@pytest.fixture
def busy(t1):
    """t1 with one answered and one closed query."""
    ok(t1, "query", "open", "t1", "--key", "1", "--text", "Date of consent?")
    ok(t1, "query", "open", "t1", "--key", "2", "--text", "Age?")
    ok(t1, "query", "answer", "t1-q1", "--text", "12 March")
    ok(t1, "query", "close", "t1-q2")
    return t1


BAD = {
    "unknown trial": (("query", "open", "nope", "--key", "1", "--text", "x"),
                      "no trial 'nope' in {root} (see `ipd list`)"),
    "unknown key": (("query", "open", "t1", "--key", "9", "--text", "x"), "t1@v1 has no record with id = 9"),
    "key of the wrong type": (("query", "open", "t1", "--key", "P1", "--text", "x"),
                              "key id: 'P1' is not a valid integer value"),
    "empty key": (("query", "open", "t1", "--key", " ", "--text", "x"), "the key is missing"),
    "unknown column": (("query", "open", "t1", "--key", "1", "--column", "weight", "--text", "x"),
                       "t1@v1 has no column 'weight'"),
    "empty question": (("query", "open", "t1", "--key", "1", "--text", "  "), "the question is empty"),
    "empty answer": (("query", "answer", "t1-q1", "--text", ""), "the answer is empty"),
    "unknown query": (("query", "answer", "t1-q9", "--text", "x"), "no query t1-q9 (see `ipd query list t1`)"),
    "query of no trial": (("query", "close", "t9-q1"), "no query t9-q1: there is no trial 't9' (see `ipd list`)"),
    "not a query id": (("query", "close", "t1-1"),
                       "invalid query id 't1-1': query ids look like TRIAL-qN, e.g. actg175-q3"),
    "answer a closed query": (("query", "answer", "t1-q2", "--text", "x"),
                              "t1-q2 is closed; reopen it first (`ipd query reopen t1-q2`)"),
    "close a closed query": (("query", "close", "t1-q2"), "t1-q2 is already closed"),
    "reopen an answered query": (("query", "reopen", "t1-q1"), "t1-q1 is not closed (it is answered)"),
    "unknown status": (("query", "list", "t1", "--status", "pending"),
                       "unknown status 'pending': use open, answered, closed"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_refusals_are_one_line_and_change_nothing(busy, case):
    args, message = BAD[case]
    before = busy.state()
    result = run(busy, *args)
    assert (result.exit_code, result.stderr) == (2, f"error: {message.format(root=busy.root)}\n")
    assert busy.state() == before


def test_a_failed_commit_leaves_nothing(t1):
    hook = t1.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'no commits today' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = t1.state()
    result = run(t1, "query", "open", "t1", "--key", "1", "--text", "x")
    assert (result.exit_code, result.stderr) == (2, "error: git commit failed: no commits today\n")
    assert t1.state() == before
    hook.unlink()
    ok(t1, "query", "open", "t1", "--key", "1", "--text", "x")
    assert [q["query"] for q in listed(t1)] == ["t1-q1"]


def test_a_damaged_log_is_named(t1):
    ok(t1, "query", "open", "t1", "--key", "1", "--text", "x")
    log = t1.root / "datasets" / "t1" / "queries.jsonl"
    log.write_text(log.read_text() + '{"query": "t1-q5", "event": "answer", "text": "y", "author": "a", "time": "t"}\n')
    result = run(t1, "query", "list", "t1")
    assert (result.exit_code, result.stderr) == (
        2, "error: datasets/t1/queries.jsonl, line 2: answer of t1-q5, which was never opened\n")


# -- the trialists' CSV ----------------------------------------------------------------------------------------

def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_export_edit_import(busy, tmp_path):
    ok(busy, "query", "open", "t1", "--key", "3", "--column", "sbp", "--text", "Blood pressure, please")
    out = tmp_path / "queries.csv"
    assert ok(busy, "query", "export", "t1", "--out", out).stdout == f"{out}: 3 queries\n"
    header = ["query", "key", "column", "question", "status", "answer"]
    assert read_csv(out) == [header,
                             ["t1-q1", "1", "", "Date of consent?", "answered", "12 March"],
                             ["t1-q2", "2", "", "Age?", "closed", ""],
                             ["t1-q3", "3", "sbp", "Blood pressure, please", "open", ""]]
    ok(busy, "query", "export", "t1", "--out", out, "--status", "open")
    assert read_csv(out) == [header, ["t1-q3", "3", "sbp", "Blood pressure, please", "open", ""]]

    ok(busy, "query", "export", "t1", "--out", out)
    rows = read_csv(out)
    rows[1][5] = "12 March 2019"  # a new answer to an answered query
    rows[3][5] = "  132, measured twice\nthe second time standing "
    write_csv(out, rows)
    head = git(busy.root, "rev-parse", "HEAD")
    assert ok(busy, "query", "import", "t1", out).stdout == \
        "2 answer(s) recorded: t1-q1, t1-q3; 1 row(s) without a new answer\n"
    assert git(busy.root, "rev-parse", "HEAD~1") == head  # one commit
    assert messages(busy.root, 1) == ["t1: 2 answer(s) imported from queries.csv"]
    found = {q["query"]: q for q in listed(busy)}
    assert found["t1-q1"]["answers"][-1]["text"] == "12 March 2019"
    assert found["t1-q3"] == query("t1-q3", 3, "sbp", "Blood pressure, please", status="answered",
                                   answers=["132, measured twice\nthe second time standing"])

    before = busy.state()  # the same file again: nothing new, no commit
    assert ok(busy, "query", "import", "t1", out).stdout == "0 answer(s) recorded; 3 row(s) without a new answer\n"
    assert busy.state() == before


IMPORT_BAD = {
    "unknown query": ([["t1-q1", "a"], ["t1-q7", "b"]], "{file}, row 2: no query t1-q7 in t1"),
    "another trial's query": ([["t2-q1", "b"]], "{file}, row 1: t2-q1 is a query of t2, not t1"),
    "not a query id": ([["q1", "b"]],
                       "{file}, row 1: invalid query id 'q1': query ids look like TRIAL-qN, e.g. actg175-q3"),
    "a closed query": ([["t1-q1", "new"], ["t1-q2", "late answer"]],
                       "{file}, row 2: t1-q2 is closed; reopen it first (`ipd query reopen t1-q2`)"),
}


@pytest.mark.parametrize("case", IMPORT_BAD, ids=list(IMPORT_BAD))
def test_an_import_with_a_bad_row_records_nothing(busy, tmp_path, case):
    rows, message = IMPORT_BAD[case]
    file = write_csv(tmp_path / "answers.csv", [["query", "answer"], *rows])
    before = busy.state()
    result = run(busy, "query", "import", "t1", file)
    assert (result.exit_code, result.stderr) == (2, f"error: {message.format(file=file)}\n")
    assert busy.state() == before


def test_an_import_needs_the_columns_and_the_file(busy, tmp_path):
    file = write_csv(tmp_path / "answers.csv", [["id", "reply"], ["t1-q1", "x"]])
    result = run(busy, "query", "import", "t1", file)
    assert (result.exit_code, result.stderr) == (2, f"error: {file}: no 'query' column; expected the columns of "
                                                    "`ipd query export` (query,key,column,question,status,answer)\n")
    result = run(busy, "query", "import", "t1", tmp_path / "none.csv")
    assert (result.exit_code, result.stderr) == (2, f"error: {tmp_path / 'none.csv'}: no such file\n")


# -- queries from a check --------------------------------------------------------------------------------------

def test_check_opens_one_query_per_failing_key_and_none_twice(t1):
    listing = json.loads(ok(t1, "expect", "list", "t1", "--json").stdout)
    number = next(e["number"] for e in listing if e["type"] == "expect_column_values_to_be_between"
                  and e["kwargs"]["column"] == "age")
    ok(t1, "expect", "remove", "t1", str(number))
    ok(t1, "expect", "add", "t1", "expect_column_values_to_be_between", "column=age", "min_value=18", "max_value=50")
    ok(t1, "expect", "add", "t1", "expect_column_values_to_not_be_null", "column=sbp")
    ok(t1, "query", "open", "t1", "--key", "3", "--text", "A question of our own")

    result = ok(t1, "check", "t1", "--open-queries", code=1)
    assert result.stdout.splitlines()[-1] == "queries opened: 3 (t1-q2 … t1-q4); see `ipd query list t1`"
    between, not_null = "expect_column_values_to_be_between(age)", "expect_column_values_to_not_be_null(sbp)"
    assert listed(t1)[1:] == [
        query("t1-q2", 2, "age", f"age is 17: fails {between} (min_value=18, max_value=50)", check=between),
        query("t1-q3", 4, "age", f"age is 52: fails {between} (min_value=18, max_value=50)", check=between),
        query("t1-q4", 3, "sbp", f"sbp is missing: fails {not_null}", check=not_null),
    ]
    assert messages(t1.root, 1) == ["t1: 3 queries opened by ipd check"]

    before = t1.state()
    report = json.loads(ok(t1, "check", "t1", "--open-queries", "--json", code=1).stdout)
    assert report["queries_opened"] == [] and report["success"] is False
    assert t1.state() == before

    ok(t1, "query", "answer", "t1-q2", "--text", "17 is right: a protocol deviation")
    ok(t1, "query", "close", "t1-q3", "--text", "no answer will come")
    report = json.loads(ok(t1, "check", "t1", "--open-queries", "--json", code=1).stdout)
    assert report["queries_opened"] == ["t1-q5"]  # the closed one is asked again, the answered one is not
    assert listed(t1)[-1] == query("t1-q5", 4, "age", f"age is 52: fails {between} (min_value=18, max_value=50)",
                                   check=between)


def test_check_without_open_queries_opens_none(t1, tmp_path):
    ok(t1, "expect", "add", "t1", "expect_column_values_to_not_be_null", "column=sbp")
    before = t1.state()
    checked = ok(t1, "check", "t1", "--html", tmp_path / "report", code=1).stdout
    assert "queries opened" not in checked
    assert checked.splitlines()[-1] == f"HTML report: {tmp_path / 'report' / 'index.html'}"
    count = len(json.loads(ok(t1, "check", "t1", "--json", code=1).stdout)["results"])
    assert f"t1@v1: 1 of {count} checks fail (expect_column_values_to_not_be_null(sbp))" in \
        ok(t1, "validate", code=1).stdout.splitlines()
    assert "queries_opened" not in json.loads(ok(t1, "check", "t1", "--json", code=1).stdout)
    assert t1.state() == before


def test_integrity_checks_raise_queries_about_the_record(tmp_repo, tmp_path):
    data = {"id": [1, 2, 3], "arm": ["A", "B", "A"], "rand": ["2020-01-06", "2020-01-07", "2020-01-08"],
            "death": ["2020-03-01", "2019-12-01", None]}
    tmp_repo.ingest("t3", _csv(tmp_path / "t3.csv", data), "--key", "id", "--arm", "arm", "--randomised", "rand")
    meta = tmp_repo.root / "datasets" / "t3" / "dataset.yaml"
    meta.write_text(meta.read_text().replace("roles:\n", "roles:\n  death: death\n", 1))
    report = json.loads(ok(tmp_repo, "check", "t3", "--open-queries", "--json", code=1).stdout)
    failing = [r for r in report["results"] if not r["success"]]
    assert [(r["name"], r["unexpected_keys"]) for r in failing] == [(failing[0]["name"], [2])]
    assert failing[0]["name"].startswith("dates: ")
    assert report["queries_opened"] == ["t3-q1"]
    assert listed(tmp_repo, "t3") == [query("t3-q1", 2, None, f"fails {failing[0]['name']}",
                                            check=failing[0]["name"])]
