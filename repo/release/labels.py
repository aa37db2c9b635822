"""Value labels of a release's categorical columns, from the dictionary the version was cut with."""

from __future__ import annotations

from typing import Any


def value_labels(columns: list[dict[str, Any]], current: list[dict[str, Any]] = ()) -> dict[str, dict[Any, str]]:
    """Column -> {value: label} of the dictionary's categorical columns (those with a value set).

    ``columns``: the dictionary the version was cut with; ``current``: dataset.yaml
    now, whose labels fill in those the version's dictionary lacks (as
    ``plan.plan_metadata`` does for column labels).
    """
    found = {c["name"]: {v["value"]: str(v.get("label") or "") for v in c["values"]}
             for c in columns if isinstance(c.get("values"), list)}
    for column in current:
        labels = found.get(column.get("name"), {})
        for value in column.get("values") or []:
            if value.get("label") and value.get("value") in labels and not labels[value["value"]]:
                labels[value["value"]] = str(value["label"])
    return found
