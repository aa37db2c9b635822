"""``ipd verify``: tamper evidence for a repository's history and data.

Each version's PROV record carries the SHA-256 of its parent's, so a trial's
records form a hash chain; records are written once, so each must still be
exactly as the commit that added it; tags must point at those commits; the
correction log only ever grows; every stored byte (Parquet parts, release
files) must match its recorded hash, wherever it is kept. Each problem names
the object at fault, so a curator knows what was touched. Objects in the
remotes that no version or release references (what a killed release leaves)
are warnings: nothing recorded is wrong, but storage is spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..progress import SILENT, Progress
from ..repository import Repository


@dataclass(frozen=True)
class Problem:
    object: str
    problem: str


@dataclass(frozen=True)
class StoredObject:
    """An object in a local-directory remote: a warning when nothing references it, not a problem."""

    remote: str  # the kind of remote: restricted or release
    object: str  # where DVC keeps it under the remote's files/: md5/ab/cdef…
    size: int  # bytes

    def to_json(self) -> dict[str, Any]:
        return {"remote": self.remote, "object": self.object, "size": self.size}


@dataclass
class Verification:
    trials: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    not_checked: list[Problem] = field(default_factory=list)  # copies that could not be read here (e.g. S3)
    unreferenced: list[StoredObject] = field(default_factory=list)  # in the remotes, named by no pointer
    pruned: list[StoredObject] | None = None  # what --prune removed (None: not asked to)

    @property
    def success(self) -> bool:
        return not self.problems

    def add(self, obj: str, problem: str) -> None:
        if Problem(obj, problem) not in self.problems:
            self.problems.append(Problem(obj, problem))

    def to_json(self) -> dict[str, Any]:
        out = {"success": self.success, "trials": self.trials,
               "problems": [vars(p) for p in self.problems],
               "not_checked": [{"object": p.object, "reason": p.problem} for p in self.not_checked],
               "unreferenced": [o.to_json() for o in self.unreferenced]}
        if self.pruned is not None:
            out.update(pruned=[o.to_json() for o in self.pruned], freed=sum(o.size for o in self.pruned))
        return out


def verify(repo: Repository, trial: str | None = None, progress: Progress = SILENT,
           fingerprints: bool = True) -> Verification:
    """``fingerprints``: also hash every version's rows (``ipd validate`` does that itself)."""
    from . import data, history, log, unreferenced

    result = Verification()
    trials = [repo.dataset(trial).trial] if trial else repo.trials()
    for name in trials:
        result.trials.append(name)
        dataset = repo.dataset(name)
        records = dataset.records()
        with progress.step(f"{name}: records, hash chain and tags"):
            added = history.check(repo, name, records, result)
        with progress.step(f"{name}: correction log"):
            log.check(repo, name, records, added, result)
        data.check(repo, name, records, result, progress, fingerprints)
    with progress.step("objects in the remotes that nothing references"):
        unreferenced.check(repo, result)
    return result
