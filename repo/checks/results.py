"""What a check found, in one shape for expectations and integrity checks alike.

Row-level checks name the participants at fault (``unexpected_keys``, keys as
they are in the data) so a curator can raise queries from them; aggregate
checks carry their figures as a small table. Each result also records the
columns it read (``inputs``), so a new version whose corrections touched none
of them can keep the result instead of computing it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_KEYS = 1000  # keys listed per failing check; the count is always exact

# Inputs that are not columns: what else a check can depend on.
SCHEMA = "*schema*"            # the set of columns (table-level expectations, missing data)
MISSINGNESS = "*missingness*"  # whether any cell of any column is missing
RECORDS = "*records*"          # which participants there are: every check depends on it


@dataclass
class Figure:
    """A small table of figures, e.g. arm × weekday counts."""

    title: str
    columns: list[str]
    rows: list[list[Any]]

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        return cls(data["title"], list(data["columns"]), [list(r) for r in data["rows"]])


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
    inputs: list[str] = field(default_factory=list)  # columns (and SCHEMA, MISSINGNESS) the check read

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "success": self.success, "kind": self.kind,
            "unexpected_count": self.unexpected_count, "unexpected_keys": self.unexpected_keys,
            "details": self.details, "engine": self.engine,
            "figures": [f.to_json() for f in self.figures], "inputs": self.inputs,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        return cls(name=data["name"], success=data["success"], kind=data["kind"],
                   unexpected_count=data["unexpected_count"], unexpected_keys=list(data["unexpected_keys"]),
                   details=dict(data["details"]), figures=[Figure.from_json(f) for f in data["figures"]],
                   engine=data["engine"], inputs=list(data.get("inputs", [])))


@dataclass
class CheckReport:
    trial: str
    version: str
    fingerprint: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"trial": self.trial, "version": self.version, "fingerprint": self.fingerprint,
                "success": self.success, "results": [r.to_json() for r in self.results]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckReport:
        return cls(data["trial"], data["version"], data["fingerprint"],
                   [CheckResult.from_json(r) for r in data["results"]])
