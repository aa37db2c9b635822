"""What a check found, in one shape for expectations and integrity checks alike.

Row-level checks name the participants at fault (``unexpected_keys``, keys as
they are in the data) so a curator can raise queries from them; aggregate
checks carry their figures as a small table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_KEYS = 1000  # keys listed per failing check; the count is always exact


@dataclass
class Figure:
    """A small table of figures, e.g. arm × weekday counts."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class CheckResult:
    name: str  # e.g. "expect_column_values_to_be_between(age)" or "dates: randomised before death"
    success: bool
    kind: str = "expectation"  # "expectation" or "integrity"
    unexpected_count: int = 0
    unexpected_keys: list[Any] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    engine: str = "duckdb"  # "duckdb", "gx" or "python"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "success": self.success, "kind": self.kind,
            "unexpected_count": self.unexpected_count, "unexpected_keys": self.unexpected_keys,
            "details": self.details, "engine": self.engine,
            "figures": [{"title": f.title, "columns": f.columns, "rows": f.rows} for f in self.figures],
        }
