"""A DuckDB error reaches the user as one line naming what was being done, never as an internal error."""

from __future__ import annotations

import json

import duckdb
import typer
from typer.testing import CliRunner

from repo.cli.ipd import command


def test_a_hand_edited_correction_that_cannot_convert_is_one_line(tmp_repo, tmp_path):
    delivery = tmp_path / "d.csv"
    delivery.write_text("pid,arm,age\n1,A,34\n2,B,45\n3,A,51\n")
    tmp_repo.ingest("t", delivery, "--key", "pid", "--arm", "arm")
    result = tmp_repo.ipd("correct", "t", "--key", "2", "--column", "age", "--value", "46", "--reason", "CRF",
                          "--repo", tmp_repo.root)
    assert result.exit_code == 0, result.stderr
    staged = tmp_repo.root / "datasets/t/staged.jsonl"
    entry = json.loads(staged.read_text())
    staged.write_text(json.dumps({**entry, "new": "forty"}) + "\n")  # past the checks `ipd correct` makes
    before = tmp_repo.state()

    result = tmp_repo.ipd("commit", "t", "-m", "age of 2", "--repo", tmp_repo.root)

    assert result.exit_code == 2, result.output + result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: applying the corrections to column age: Conversion Error: Could not convert string 'forty' to INT64"]
    assert tmp_repo.state() == before


def test_a_duckdb_error_no_step_translated_is_one_line():
    app = typer.Typer()
    app.callback()(lambda: None)

    @command(target=app, name="cast")
    def cast() -> None:
        duckdb.connect().sql("SELECT CAST('x' AS INTEGER)").fetchall()

    result = CliRunner().invoke(app, ["cast"], catch_exceptions=False)

    assert result.exit_code == 2, result.output + result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: ipd cast: Conversion Error: Could not convert string 'x' to INT32"]
