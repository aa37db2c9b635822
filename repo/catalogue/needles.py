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

Each release is held to the plan it was built by: the approval its record
names, read from the approval file or, when the version's plan was approved
again since, from the file as it was in the commit that added the record.
Rules change between releases (a column released by v1 may be deleted from v2
on, and the other way round), so a file of one release is looked through for
that release's needles only; a file of no one release (the catalogue's README,
a stray table) for every release's, but for the words some release released
as they are.

Each value is known to the report only by a short keyed hash: HMAC-SHA256 with
the trial's linkage secret, so the same value has the same hash in every
report, and nobody without restricted storage can turn a hash of a date or a
key back into it by trying them all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..progress import SILENT, Progress
from ..release import ids
from ..release.approve import Approval, approval_path, read_approval
from ..release.record import ReleaseRecord, records
from ..repository import layout
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
    group: int = 0  # the releases it is a needle of (``Needles.groups``)


@dataclass
class Needles:
    """Every release's needles, indexed together; each needle and shape belongs to one group of releases (one
    version released under the same modifications), so a file of one release is held to that release's own."""

    texts: dict[str, set[Needle]] = field(default_factory=dict)  # a rendering -> the needles spelled so
    shapes: dict[tuple[Column, int], Shape] = field(default_factory=dict)  # the column check's view, per group
    groups: list[list[str]] = field(default_factory=list)  # group -> its releases (vN-TIER)
    of_release: dict[str, int] = field(default_factory=dict)  # TRIAL@vN-TIER -> its group
    public: set[str] = field(default_factory=set)  # renderings that are words some release released as they are
    released: list[str] = field(default_factory=list)  # TRIAL@vN-TIER of every release looked at
    notes: list[str] = field(default_factory=list)  # releases looked at under the current rules: why

    def add(self, text: str, needle: Needle) -> None:
        self.texts.setdefault(text, set()).add(needle)


def collect(repo: Repository, progress: Progress = SILENT) -> Needles:
    """The needles of every release the curation repository records, under the plan it was built by."""
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
            groups = _groups(needles, repo, released)
            if not groups:
                continue
            with progress.step(f"reading {trial}@{version} for the values its releases removed"):
                table = repo.dataset(trial).version(version).to_arrow()  # once, for every group of the version
                words: dict[str, set[str]] = {}  # a kept column's words, once for every group keeping it
                for modifications, group in groups:
                    _group(needles, modifications, group, table, key, words)
    vocabulary = needles.public
    needles.public = {text for text in needles.texts if text in vocabulary}
    return needles


def _groups(needles: Needles, repo: Repository, released: list[ReleaseRecord]) -> list[tuple[list, list]]:
    """The version's releases grouped by the modifications they were built with: (modifications, releases)."""
    grouped: dict[str, tuple[list, list[ReleaseRecord]]] = {}
    for record in released:
        needles.released.append(f"{record.trial}@{record.name}")
        approval = built_under(repo, record, needles.notes)
        if approval is None:
            continue
        modifications = approval.modifications.get(record.tier, {}).get("modifications", [])
        same = json.dumps(modifications, sort_keys=True, default=str)
        grouped.setdefault(same, (modifications, []))[1].append(record)
    return list(grouped.values())


def built_under(repo: Repository, record: ReleaseRecord, notes: list[str]) -> Approval | None:
    """The approval ``record``'s release was built under: the approval file as it is, or else as it was in the
    commit that added the record (a version's plan may be approved again, under other rules, after a release).
    When neither is the plan the record names, the current approval, with a line in ``notes`` saying so."""
    trial, plan = record.trial, record.approval.get("plan_sha256")
    current = read_approval(repo, trial, record.version)
    if current is not None and current.plan_sha256 == plan:
        return current
    path = approval_path(trial, record.version)
    commit = repo.scm.commit_adding(layout.trial(trial).release_record(record.name))
    data = repo.scm.blob(commit, path) if commit else None
    try:
        then = Approval.from_json(data.decode("utf-8")) if data is not None else None
    except (ValueError, TypeError, KeyError, AttributeError):
        then = None
    if then is not None and then.plan_sha256 == plan:
        return then
    where = f"neither now nor in commit {commit[:7]} (which added its record)" if commit else \
        "now (and its record is not committed)"
    instead = "looked for what the current approval removes" if current else "its values were not looked for"
    notes.append(f"{trial}@{record.name}: built under plan sha256 {str(plan)[:12]}, which {path} holds {where}: "
                 f"{instead}")
    return current


def _group(needles: Needles, modifications: list, released: list[ReleaseRecord], table: pa.Table, key: bytes,
           words: dict[str, set[str]]) -> None:
    """The needles of releases of one version built with the same ``modifications``."""
    group = len(needles.groups)
    needles.groups.append([r.name for r in released])
    needles.of_release.update((f"{r.trial}@{r.name}", group) for r in released)
    trial = released[0].trial
    modified = {m["variable"]: m for m in modifications}
    kept = [n for n in table.column_names if n not in modified or modified[n]["action"] in KEPT]
    vocabulary = {name.casefold() for name in table.column_names}
    for name in kept:
        if name not in words:
            words[name] = _words(table[name])
        vocabulary.update(words[name])
    needles.public |= vocabulary
    least = min(r.rows for r in released)
    for name in table.column_names:
        mod = modified.get(name)
        if mod is None or mod["action"] not in KINDS:
            continue
        column = Column(trial, name, KINDS[mod["action"]])
        parameters = {**mod["parameters"], "action": mod["action"]}
        values = table[name].unique().to_pylist()
        wanted = [v for v in values if v is not None and _replaced(v, parameters)]
        _add(needles, column, group, wanted, key, vocabulary, mod["action"] != "shift")
        replaced = frozenset(c for c in map(canonical, wanted) if c)
        needles.shapes[column, group] = Shape(counts(table[name]), replaced, table.num_rows, least)


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


def _add(needles: Needles, column: Column, group: int, values: list, key: bytes, vocabulary: set[str],
         in_tables: bool) -> None:
    for value in values:
        needle = Needle(column, value_hash(key, value), in_tables, group)
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
