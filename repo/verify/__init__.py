"""``ipd verify``: tamper evidence for a repository's history and data.

Each version's PROV record carries the SHA-256 of its parent's, so a trial's
records form a hash chain; records are written once, so each must still be
exactly as the commit that added it; tags must point at those commits; the
correction log only ever grows; every stored byte (Parquet parts, release
files) must match its recorded hash, wherever it is kept. Each problem names
the object at fault, so a curator knows what was touched.
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


@dataclass
class Verification:
    trials: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    not_checked: list[Problem] = field(default_factory=list)  # copies that could not be read here (e.g. S3)

    @property
    def success(self) -> bool:
        return not self.problems

    def add(self, obj: str, problem: str) -> None:
        if Problem(obj, problem) not in self.problems:
            self.problems.append(Problem(obj, problem))

    def to_json(self) -> dict[str, Any]:
        return {"success": self.success, "trials": self.trials,
                "problems": [vars(p) for p in self.problems],
                "not_checked": [{"object": p.object, "reason": p.problem} for p in self.not_checked]}


def verify(repo: Repository, trial: str | None = None, progress: Progress = SILENT,
           fingerprints: bool = True) -> Verification:
    """``fingerprints``: also hash every version's rows (``ipd validate`` does that itself)."""
    from . import data, history, log

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
    return result
