"""The CLI as documentation: every command has help and is shown in the README."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from conftest import ipd
from repo.cli import app

README = (Path(__file__).parents[1] / "README.md").read_text()


def all_commands():
    return typer.main.get_command(app).commands.values()


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: c.name)
def test_commands_have_help(command):
    assert command.help, f"{command.name} is missing its help"
    assert ipd(command.name, "--help").exit_code == 0


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: c.name)
def test_commands_appear_in_the_readme(command):
    assert f"ipd {command.name}" in README


def test_outside_a_repository_is_one_line(tmp_path):
    result = ipd("list", "--repo", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path} is not inside an ipd repository (run `ipd init` first)"
