"""The pin a pulled directory carries: which version (or release) it holds, from where, and its history."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InvalidInput, NotFound, RepoError
from ..repository.refs import Ref

PIN = "ipd-pin.json"


@dataclass
class Pin:
    trial: str
    version: str
    fingerprint: str
    rows: int
    source: str
    format: str
    files: list[str]
    pulled: str
    tool: str
    history: list[dict] = field(default_factory=list)
    tier: str | None = None  # set when the copy is a de-identified release
    issue: int = 1  # the release's issue (``release.record``): 2, 3, ... for a reissue

    def to_json(self) -> dict:
        data = asdict(self)
        if self.tier is None:
            del data["tier"]  # a pin of a version reads as it always has
        if self.issue == 1:
            del data["issue"]  # and so does one of a release's first issue
        return data

    def write(self, directory: Path) -> None:
        """Replace the pin atomically: a reader sees the old pin or the new one, never half of one."""
        partial = directory / f".{PIN}.partial"
        partial.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        os.replace(partial, directory / PIN)

    @classmethod
    def read(cls, directory: Path) -> Pin | None:
        """The pin in ``directory``, or None when there is none; an unreadable pin is an error."""
        path = directory / PIN
        if not path.is_file():
            return None
        try:
            pin = cls(**json.loads(path.read_text(encoding="utf-8")))
            Ref.parse(f"{pin.trial}@{pin.version}")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, AttributeError, RepoError) as exc:
            raise InvalidInput(f"{path} is not a pin written by `ipd pull` ({' '.join(str(exc).split())})") from exc
        return pin

    def history_entry(self) -> dict:
        """What the pin's history keeps of this pin once the copy moves to another version."""
        return {"version": self.version, "fingerprint": self.fingerprint, "pulled": self.pulled, "files": self.files,
                **({"issue": self.issue} if self.issue > 1 else {})}

    @property
    def label(self) -> str:
        issue = f", issue {self.issue}" if self.issue > 1 else ""
        return f"{self.trial}@{self.version}" + (f" ({self.tier} release{issue})" if self.tier else "")


def read_pin(directory: Path) -> Pin:
    """The pin of a directory written by ``ipd pull``; any other directory is a one-line error."""
    if not directory.is_dir():
        raise NotFound(f"{directory}: no such directory")
    pin = Pin.read(directory)
    if pin is None:
        raise NotFound(f"{directory} has no {PIN}: it was not written by `ipd pull`")
    return pin
