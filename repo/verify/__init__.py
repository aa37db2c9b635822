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

from ..progress import SILENT, Progress
from ..repository import Repository
from . import catalogue, data, history, log, unreferenced
from .report import Problem, StoredObject, Verification

__all__ = ["Problem", "StoredObject", "Verification", "verify"]


def verify(repo: Repository, trial: str | None = None, progress: Progress = SILENT,
           fingerprints: bool = True) -> Verification:
    """``fingerprints``: also hash every version's rows (``ipd validate`` does that itself)."""
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
    catalogue.check(repo, result.trials, result, progress)
    with progress.step("objects in the remotes that nothing references"):
        unreferenced.check(repo, result)
    return result
