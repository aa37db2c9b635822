"""One change de-identification makes to a variable, as the plan and the modification log state it."""

from __future__ import annotations

from dataclasses import dataclass

RELEASE_ID = "release_id"  # the column of release IDs, first in every released table


@dataclass(frozen=True)
class Modification:
    variable: str
    action: str
    parameters: dict
    rows_affected: int
    rationale: str
