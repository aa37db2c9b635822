"""ipd-repo: a versioned repository for clinical-trial individual participant data.

    import repo
    actg = repo.open("path/to/repository").dataset("actg175")
    table = actg.version("v1").to_arrow()      # or .to_pandas(), .duckdb()
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .repository import Repository


def open(path: str | Path = ".") -> Repository:  # noqa: A001 - reads as repo.open(...)
    """Open the repository at or above ``path``."""
    from .repository import Repository

    return Repository.find(path)
