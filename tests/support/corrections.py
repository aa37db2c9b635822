"""Corrections: a CSV delivery written from columns, and ``ipd correct`` / ``ipd commit`` on trial ``t``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _csv(path: Path, rows: dict) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def correct(tmp_repo, *args: str | Path):
    return tmp_repo.ipd("correct", "t", *args, "--repo", tmp_repo.root)


def commit(tmp_repo, *args: str):
    return tmp_repo.ipd("commit", "t", "--repo", tmp_repo.root, *args)
