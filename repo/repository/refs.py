"""Names of trials and versions, and references such as ``actg175@v2``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidInput

TRIAL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")  # matched whole (fullmatch): "$" would allow a newline
VERSION_NAME = re.compile(r"v([1-9][0-9]*)")


def check_trial_name(name: str) -> str:
    if not TRIAL_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid trial name {name!r}: use lower-case letters, digits, '-' or '_', "
            "starting with a letter (at most 64 characters)"
        )
    return name


def version_number(version: str) -> int:
    match = VERSION_NAME.fullmatch(version)
    if not match:
        raise InvalidInput(f"invalid version {version!r}: versions are named v1, v2, …")
    return int(match.group(1))


def version_name(number: int) -> str:
    return f"v{number}"


def tag_name(trial: str, version: str) -> str:
    """The git tag of a version; namespaced by trial so trials version independently."""
    return f"{trial}/{version}"


@dataclass(frozen=True)
class Ref:
    """``TRIAL``, ``TRIAL@vN``; ``version`` is None when the latest is meant."""

    trial: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Ref:
        trial, _, version = text.partition("@")
        check_trial_name(trial)
        if version:
            version_number(version)
            return cls(trial, version)
        if "@" in text:
            raise InvalidInput(f"invalid reference {text!r}: expected TRIAL or TRIAL@vN")
        return cls(trial, None)

    def __str__(self) -> str:
        return f"{self.trial}@{self.version}" if self.version else self.trial
