"""Proposed groups for a categorical quasi-identifier with small race–sex cells.

The NHLBI rule for polychotomous variables: collapse values so that each is
shared by at least ``min_cell`` participants in every race–sex cell. The
proposal merges the rarest group with its rarer neighbour (values in their
natural order, a missing value last, as its own group the way anonymity
checkers count it) until every group meets the minimum. A dichotomous variable
cannot be collapsed into anything informative, so it is proposed for deletion,
as is a variable whose only grouping meeting the minimum is a single group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends.columns import quote
from .cells import plain

if TYPE_CHECKING:
    from ..backends.sql import Connection


@dataclass(frozen=True)
class GroupProposal:
    smallest: int | None  # the smallest (race, sex, value) count now; None for a column without rows
    small_cells: int  # (race, sex, value) combinations below the minimum
    dichotomous: bool
    groups: dict[str, list] | None  # new value -> old values; None: delete (or nothing to do)


def propose_groups(con: Connection, relation: str, cells: list[str], column: str,
                   min_cell: int) -> GroupProposal:
    keys = [quote(c) for c in cells]
    c = quote(column)
    rows = con.sql(f"SELECT {c}, {', '.join(keys) + ', ' if keys else ''}count(*) FROM {relation} "
                   f"GROUP BY ALL").fetchall()
    counts: dict[Any, dict[tuple, int]] = {}
    for row in rows:
        counts.setdefault(plain(row[0]), {})[tuple(map(plain, row[1:-1]))] = int(row[-1])
    if not counts:
        return GroupProposal(None, 0, False, None)
    values = sorted((v for v in counts if v is not None), key=_order) + ([None] if None in counts else [])
    flat = [n for per_cell in counts.values() for n in per_cell.values()]
    small = sum(n < min_cell for n in flat)
    dichotomous = len([v for v in values if v is not None]) <= 2
    if not small:
        return GroupProposal(min(flat), 0, dichotomous, None)
    if dichotomous:
        return GroupProposal(min(flat), small, True, None)
    groups = _merge([[v] for v in values], counts, min_cell)
    named = _names(groups) if len(groups) > 1 else None
    return GroupProposal(min(flat), small, False, named)


def _order(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, 0, str(value))


def _smallest(group: list, counts: dict[Any, dict[tuple, int]]) -> int:
    per_cell: dict[tuple, int] = {}
    for value in group:
        for cell, n in counts[value].items():
            per_cell[cell] = per_cell.get(cell, 0) + n
    return min(per_cell.values())


def _merge(groups: list[list], counts: dict[Any, dict[tuple, int]], min_cell: int) -> list[list]:
    """Merge the rarest group into its rarer neighbour until every group meets the minimum."""
    while len(groups) > 1:
        sizes = [_smallest(g, counts) for g in groups]
        rarest = min(range(len(groups)), key=lambda i: (sizes[i], i))
        if sizes[rarest] >= min_cell:
            break
        neighbours = [i for i in (rarest - 1, rarest + 1) if 0 <= i < len(groups)]
        other = min(neighbours, key=lambda i: (sizes[i], i))
        low, high = sorted((rarest, other))
        groups[low:high + 1] = [groups[low] + groups[high]]
    return groups


def _names(groups: list[list]) -> dict[str, list]:
    """Readable names: ``<=80`` and ``>=90`` at the ends of numbers, ``81-89`` between; text joined by ``/``."""
    out = {}
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for g in groups for v in g if v is not None)
    for i, group in enumerate(groups):
        present = [v for v in group if v is not None]
        if not present:
            name = "missing"
        elif len(present) == 1:
            name = str(present[0])
        elif numbers and i == 0:
            name = f"<={present[-1]}"
        elif numbers and all(v is None for g in groups[i + 1:] for v in g):
            name = f">={present[0]}"
        elif numbers:
            name = f"{present[0]}-{present[-1]}"
        else:
            name = "/".join(map(str, present))
        if None in group and present:
            name += " or missing"
        out[name] = group
    return out
