"""Who may be released in which tier: the consent rules, and the ID lists kept in restricted storage.

The NHLBI asks for two lists of participants: those who refused sharing
beyond the study, and those who refused commercial use. A trial gives each as
a column of its data or as a file of IDs under ``datasets/TRIAL/`` (normally
``source/consent/``, DVC-tracked with the deliveries, so it never leaves the
restricted remote). A tier is built only when the rules say who refused what
that tier depends on: silence is not consent. An empty list is a statement
("nobody refused") and is enough.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .. import storage
from ..errors import InvalidInput
from .rules import ConsentRule, ReleaseRules

NEEDED = {"noncommercial": ("no_sharing",), "commercial": ("no_sharing", "no_commercial")}
WHAT = {"no_sharing": "sharing beyond the study", "no_commercial": "commercial use"}


def require_consent(trial: str, rules: ReleaseRules, tier: str) -> None:
    for name in NEEDED[tier]:
        if getattr(rules, name) is None:
            raise InvalidInput(
                f"{trial}: the release rules do not say who refused {WHAT[name]} (release.consent.{name} in "
                f"datasets/{trial}/dataset.yaml): give a consent column or an ID list, an empty one if nobody did")


def consent_lists(root: Path, trial: str, rules: ReleaseRules) -> dict[str, set[str]]:
    """The IDs in each consent list kept as a file (rule name -> IDs as text)."""
    lists = {}
    for name in NEEDED["commercial"]:
        rule: ConsentRule | None = getattr(rules, name)
        if rule is not None and rule.file:
            lists[name] = read_ids(root, trial, rule.file, name, rules.participant_id)
    return lists


def read_ids(root: Path, trial: str, file: str, name: str, id_column: str) -> set[str]:
    """One ID a line; a header line naming the ID column is skipped; in a CSV, the ID column (or the first)."""
    relative = f"datasets/{trial}/{file}"
    path = root / relative
    if not path.is_file() and (root / f"datasets/{trial}/source.dvc").is_file():
        storage.materialize(root, [f"datasets/{trial}/source"])  # a clone: the lists come with the deliveries
    if not path.is_file():
        raise InvalidInput(f"{relative}: no such file (the ID list of release.consent.{name})")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{relative}: cannot be read as text ({' '.join(str(exc).split())})") from exc
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return set()
    header = [cell.strip() for cell in rows[0]]
    column = 0
    if id_column in header:
        column, rows = header.index(id_column), rows[1:]
    elif len(header) > 1 or header[0].lower() in ("id", "ids", "key", "participant", "participant_id"):
        rows = rows[1:]  # a header naming some other column: the IDs are its first column
    ids = set()
    for row in rows:
        if column >= len(row) or not row[column].strip():
            raise InvalidInput(f"{relative}: a line without an ID ({','.join(row)!r})")
        ids.add(row[column].strip())
    return ids
