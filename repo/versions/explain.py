"""Does a version's diff against its parent say exactly what its corrections say?

The correction log is the single source of change: every changed cell of a
corrected version is explained by an entry that applied it, and every entry
shows up in the diff. ``ipd commit`` refuses to cut a version where the two
disagree, and ``ipd validate`` checks every corrected version again.
"""

from __future__ import annotations

import json
from typing import Any

from ..backends.values import to_json
from ..corrections.log import Correction


def _k(key: Any) -> str:
    return json.dumps(to_json(key), sort_keys=True)


def disagreements(diff: dict[str, Any], entries: list[Correction]) -> list[str]:
    """What the diff (``Diff.to_json()``) shows that no entry explains, and entries the diff does not show."""
    problems: list[str] = []
    expected = {(_k(e.key), e.column): e for e in entries if e.action == "update"}
    seen = set()
    for cell in diff["cells"]:
        cell_id = (_k(cell["key"]), cell["column"])
        entry = expected.get(cell_id)
        if entry is None:
            problems.append(f"{cell['key']!r}/{cell['column']} changed from {cell['old']!r} to {cell['new']!r} "
                            "with no correction")
        elif _k(entry.new) != _k(cell["new"]):
            problems.append(f"{cell['key']!r}/{cell['column']} is {cell['new']!r}, but {entry.id} set it to {entry.new!r}")
        seen.add(cell_id)
    for cell_id, entry in expected.items():
        if cell_id not in seen:
            problems.append(f"{entry.id} ({entry.describe()}) is not in the data")
    for action, listed, verb in (("add", "added", "added"), ("remove", "removed", "removed")):
        logged = {_k(e.key): e for e in entries if e.action == action}
        found = {_k(k) for k in diff[listed]}
        problems += [f"record {json.loads(k)!r} was {verb} with no correction" for k in sorted(found - set(logged))]
        problems += [f"{logged[k].id} ({logged[k].describe()}) is not in the data" for k in sorted(set(logged) - found)]
    logged_columns = {e.column: e for e in entries if e.action == "add_column"}
    found_columns = set(diff["columns_added"])
    problems += [f"column {c!r} was added with no correction" for c in sorted(found_columns - set(logged_columns))]
    problems += [f"{logged_columns[c].id} (new variable {c}) is not in the data"
                 for c in sorted(set(logged_columns) - found_columns)]
    problems += [f"column {c!r} was removed with no correction" for c in diff.get("columns_removed", [])]
    return problems
