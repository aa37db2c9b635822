"""dataset.yaml is edited by hand: a value ipd cannot use is one line naming the key, and nothing changes."""

from __future__ import annotations

import pytest
import yaml
from conftest import git, one_line_error

CSV = "pid,arm,age\n1,A,40\n2,B,51\n3,A,62\n"


@pytest.fixture
def trial(tmp_repo):
    path = tmp_repo.root.parent / "t.csv"
    path.write_text(CSV)
    tmp_repo.ingest("t", path, "--key", "pid", "--arm", "arm")
    return tmp_repo


def edit(trial, change: dict) -> None:
    """The curator edits dataset.yaml and commits it."""
    path = trial.root / "datasets/t/dataset.yaml"
    metadata = yaml.safe_load(path.read_text())
    metadata.update(change)
    path.write_text(yaml.safe_dump(metadata, sort_keys=False))
    git(trial.root, "commit", "-qm", "edit dataset.yaml", "--", "datasets/t/dataset.yaml")


CORRECT = ("correct", "t", "--key", "1", "--column", "age", "--value", "41", "--reason", "CRF page 2")


@pytest.mark.parametrize(("change", "message"), [
    ({"roles": {"arm": 3}}, "roles.arm must be a column name, not 3"),
    ({"roles": {"baseline": ["age", 7]}}, "roles.baseline[1] must be a column name, not 7"),
    ({"columns": {"age": "integer"}}, "columns must be a list of column entries, not a mapping"),
    ({"columns": [{"type": "integer"}]}, "columns[0].name must be the column's name, not nothing"),
    ({"partitioning": {"parts": "two"}}, "partitioning.parts must be a whole number of parts, at least 1, not 'two'"),
    ({"key": 3}, "key must be a column name or a list of column names, not 3"),
    ({"key": ["pid", "visit"]}, "participant must be the participant column, one of the key's pid, visit, not nothing"),
    ({"key": ["pid", "visit"], "participant": "arm"}, "participant must be one of the key's columns (pid, visit), "
                                                      "not 'arm'"),
    ({"release": "none"}, "release must be a mapping of release rules, not 'none'"),
    ({"tables": {"visits": {"key": ["pid", "visit"], "participant": "pid", "events": "visdt"}}},
     "tables.visits.events must be a list of the table's date columns, not 'visdt'"),
    ({"tables": {"visits": {"participant": "pid"}}}, "tables.visits.key must be the table's key column(s), not nothing"),
])
@pytest.mark.parametrize("command", [("check", "t"), CORRECT], ids=["check", "correct"])
def test_a_value_ipd_cannot_use_is_named_by_its_key(trial, change, message, command):
    edit(trial, change)
    before = trial.state()
    result = trial.ipd(*command, "--repo", trial.root)
    assert (result.exit_code, one_line_error(result.stderr)) == \
        (2, f"error: {trial.root / 'datasets/t/dataset.yaml'}: {message}")
    assert trial.state() == before
