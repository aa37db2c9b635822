"""What the audit looks for: every value a release deleted or replaced, from the curation repository.

For each released version, its rows and the modifications its approval lists
for each released tier say which source columns did not go out as they are:
deleted columns (identifiers, verbatim text, sensitive variables, centres and
technicians, consent records, the reference date), the participant key
(replaced by release IDs), recoded centres and technicians, dates made relative
or shifted, and values beyond a top or bottom code (ages of the ceiling and
over, trimmed quasi-identifiers). Their values are the needles; collapsed and
grouped categories are not (their values are merged, not removed, and mostly
short).

Each value is known to the report only by a short keyed hash: HMAC-SHA256 with
the trial's linkage secret, so the same value has the same hash in every
report, and nobody without restricted storage can turn a hash of a date or a
key back into it by trying them all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..progress import SILENT, Progress
from ..release import ids
from ..release.approve import read_approval
from ..release.record import ReleaseRecord, records
from .matching import Shape, canonical, counts, distinctive, renderings

if TYPE_CHECKING:
    import pyarrow as pa

    from ..repository import Repository

DELETED, KEY, DATE, RECODED, CODED = "deleted", "key", "date", "recoded", "beyond coding"
KINDS = {"delete": DELETED, "replace": KEY, "recode": RECODED, "relative": DATE, "shift": DATE,
         "age_top": CODED, "trim": CODED, "topcode": CODED, "bottomcode": CODED}
KEPT = ("keep",)  # released as they are: their values are words of the release, not needles


@dataclass(frozen=True)
class Column:
    """A source column whose values a release deleted or replaced."""

    trial: str
    name: str
    kind: str


@dataclass(frozen=True)
class Needle:
    column: Column
    value: str  # the value's keyed hash: never the value
    in_tables: bool  # False for shifted dates: a data table holds shifted dates by design, and one may equal
                     # an original date of another participant


@dataclass
class Needles:
    texts: dict[str, set[Needle]] = field(default_factory=dict)  # a rendering -> the needles spelled so
    shapes: dict[Column, Shape] = field(default_factory=dict)  # the column check's view of each column
    releases: dict[Column, set[str]] = field(default_factory=dict)  # the releases (vN-TIER) that changed it
    released: list[str] = field(default_factory=list)  # TRIAL@vN-TIER of every release looked at

    def add(self, text: str, needle: Needle) -> None:
        self.texts.setdefault(text, set()).add(needle)


def collect(repo: Repository, progress: Progress = SILENT) -> Needles:
    """The needles of every release the curation repository records."""
    needles = Needles()
    for trial in repo.trials():
        by_version: dict[str, list[ReleaseRecord]] = defaultdict(list)
        for record in records(repo.root, trial):
            by_version[record.version].append(record)
        if not by_version:
            continue
        linkage = ids.read(repo.root, trial)
        key = linkage.secret if linkage is not None else secrets.token_bytes(32)
        for version, released in sorted(by_version.items(), key=lambda item: int(item[0][1:])):
            with progress.step(f"reading {trial}@{version} for the values its releases removed"):
                table = repo.dataset(trial).version(version).to_arrow()
                _version(needles, repo, trial, version, released, table, key)
    return needles


def _version(needles: Needles, repo: Repository, trial: str, version: str, released: list[ReleaseRecord],
             table: pa.Table, key: bytes) -> None:
    approval = read_approval(repo, trial, version)
    if approval is None:
        return
    kept: set[str] = set()
    changed: dict[str, list[tuple[str, dict, str]]] = defaultdict(list)  # column -> (kind, parameters, release)
    for record in released:
        needles.released.append(f"{trial}@{record.name}")
        modified = {m["variable"]: m for m in approval.modifications.get(record.tier, {}).get("modifications", [])}
        for name in table.column_names:
            mod = modified.get(name)
            if mod is None or mod["action"] in KEPT:
                kept.add(name)
            elif mod["action"] in KINDS:
                changed[name].append((KINDS[mod["action"]], {**mod["parameters"], "action": mod["action"]},
                                      record.name))
    vocabulary = {name.casefold() for name in table.column_names}
    for name in kept:
        vocabulary.update(_words(table[name]))
    least = min(r.rows for r in released)
    for name, ways in changed.items():
        values = table[name].unique().to_pylist()
        for kind in dict.fromkeys(k for k, _, _ in ways):
            column = Column(trial, name, kind)
            wanted = [v for v in values if v is not None and any(_replaced(v, p) for k, p, _ in ways if k == kind)]
            needles.releases.setdefault(column, set()).update(r for k, _, r in ways if k == kind)
            shifted = any(p["action"] == "shift" for k, p, _ in ways if k == kind)
            _add(needles, column, wanted, key, vocabulary, not shifted)
            replaced = frozenset(c for c in map(canonical, wanted) if c)
            shape = Shape(counts(table[name]), replaced, table.num_rows, least)
            old = needles.shapes.get(column)
            needles.shapes[column] = shape if old is None else Shape(
                old.counts, old.replaced | replaced, max(old.rows, shape.rows), min(old.least_rows, least))


def _replaced(value: Any, parameters: dict) -> bool:
    """Whether the release replaced ``value`` (every value, but for codes: only those beyond them)."""
    action = parameters["action"]
    if action == "age_top":
        return isinstance(value, (int, float)) and value >= parameters["top"]
    if action in ("trim", "topcode", "bottomcode"):
        top, bottom = parameters.get("top"), parameters.get("bottom")
        return isinstance(value, (int, float)) and ((top is not None and value > top)
                                                    or (bottom is not None and value < bottom))
    return True


def _add(needles: Needles, column: Column, values: list, key: bytes, vocabulary: set[str], in_tables: bool) -> None:
    for value in values:
        digest = value_hash(key, value)
        needle = Needle(column, digest, in_tables)
        for text in renderings(value):
            if text not in vocabulary and distinctive(text, value, column.kind == KEY):
                needles.add(text, needle)


def _words(column) -> set[str]:
    """A kept column's values as text: finding one of them in the catalogue says nothing."""
    found: set[str] = set()
    for value in column.unique().to_pylist():
        if value is not None and not isinstance(value, dt.date):
            found.update(renderings(value))
    return found


def value_hash(key: bytes, value: Any) -> str:
    """Twelve hex digits of HMAC-SHA256 over the value's canonical spelling."""
    return hmac.new(key, b"ipd-audit\0" + (canonical(value) or "").encode(), hashlib.sha256).hexdigest()[:12]
