"""What ``ipd verify`` found: problems naming the object at fault, and objects nothing references."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
