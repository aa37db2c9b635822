"""What a release package says about where it came from: the trial, version, tier, approval and relations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import relations as rel


@dataclass(frozen=True)
class About:
    """What a package says about where it came from."""

    trial: str
    version: str
    tier: str
    title: str
    notes: str
    version_fingerprint: str
    approval: dict[str, Any]  # by, when, plan_sha256
    key_variables: dict[str, str]  # role (arm, sex, race, age) -> released column
    license: str = ""  # dataset.yaml's, if it gives one
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)  # see labels.value_labels
    relations: list[dict[str, Any]] = field(default_factory=list)  # DataCite's, see relations.at_build
    curator: str = ""  # "Name <email>" of who built the release first
    tool: dict[str, str] = field(default_factory=dict)  # name, version of the tool that built it first
    package_format: int = 1  # the release record's: how its files are written (``record.PACKAGE_FORMAT``)

    @property
    def identifier(self) -> str:
        return rel.release_id(self.trial, self.version, self.tier)
