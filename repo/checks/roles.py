"""``ipd roles``: declaring what the columns of a trial are (arm, dates, outcome, covariates) from the command line.

The roles decide which integrity checks run and what a release keeps as analysed, so a role is only written
when the latest version's rows bear it out: the column exists, a date role reads as dates, a status is 0/1 or
boolean, or names its event codes and each is one of its values. The check is the checks' own view of the
trial (``integrity.trial_view``), so what ``ipd roles`` accepts, ``ipd check`` can run. The change is one commit
of ``dataset.yaml``; no version is cut (roles describe the data, they do not change it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..repository import Repository, layout
from ..repository.datasets import dump_metadata
from ..repository.metadata import LISTED_ROLES, Metadata
from .integrity import version_view

ROLES = ("arm", "randomised", "death", "death_flag", "events", "last_contact", "baseline", "time", "status")


@dataclass(frozen=True)
class RoleChange:
    """What ``ipd roles`` was asked: roles to set (a column, or columns for a listed role), the status's event
    codes, and roles to remove."""

    set: dict[str, Any] = field(default_factory=dict)
    event: list[Any] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.set or self.event or self.unset)


@dataclass(frozen=True)
class RolesResult:
    trial: str
    roles: dict[str, Any]  # as written in dataset.yaml
    commit: str | None  # None when nothing changed (or nothing was asked)


def declare(repo: Repository, trial: str, change: RoleChange) -> RolesResult:
    """Apply ``change`` to the trial's roles, check them against its latest version, and commit dataset.yaml."""
    dataset = repo.dataset(trial)
    relative = layout.trial(trial).metadata
    if not change:
        return RolesResult(trial, dict(dataset.metadata().get("roles") or {}), None)
    with repo.writing([relative]):
        metadata = dataset.metadata()
        roles = changed(dict(metadata.get("roles") or {}), change)
        updated = Metadata({**metadata, "roles": roles}).checked(relative)
        _check_against_data(repo, trial, updated)
        if roles == (metadata.get("roles") or {}):
            return RolesResult(trial, roles, None)
        dataset.metadata_path.write_text(dump_metadata(updated))
        commit = repo.scm.commit([relative], f"{trial}: roles {_describe(change)}")
    return RolesResult(trial, roles, commit)


def declare_table(repo: Repository, trial: str, table: str, events: list[str]) -> RolesResult:
    """The dates of another table of the trial that follow the participant's randomisation (``tables.NAME.events``):
    each a column of that table holding dates; one commit of dataset.yaml."""
    dataset = repo.dataset(trial)
    relative = layout.trial(trial).metadata
    with repo.writing([relative]):
        metadata = dataset.metadata()
        entry = metadata.tables.get(table)
        if entry is None:
            others = ", ".join(metadata.tables) or "none"
            raise InvalidInput(f"{trial} has no other table {table!r} (its other tables: {others})")
        kinds = {c["name"]: c.get("type") for c in entry.get("columns") or []}
        for column in events:
            if column not in kinds:
                raise InvalidInput(f"tables.{table}.events: no column {column!r} in table {table}; its columns are "
                                   f"{', '.join(kinds)}")
            if kinds[column] not in ("date", "datetime", "string"):
                raise InvalidInput(f"tables.{table}.events: column {column!r} is {kinds[column]}, not a date")
        if list(events) == entry.get("events"):
            return RolesResult(trial, {"events": list(events)}, None)
        tables = {**metadata.tables, table: {**entry, "events": list(events)}}
        dataset.metadata_path.write_text(dump_metadata(Metadata({**metadata, "tables": tables}).checked(relative)))
        commit = repo.scm.commit([relative], f"{trial}: roles of table {table} events={','.join(events)}")
    return RolesResult(trial, {"events": list(events)}, commit)


def changed(roles: dict[str, Any], change: RoleChange) -> dict[str, Any]:
    """``roles`` with ``change`` applied; an unknown role or event codes without a status is refused."""
    for role in [*change.set, *change.unset]:
        if role not in ROLES:
            raise InvalidInput(f"no role {role!r}: the roles are {', '.join(ROLES)}")
    for role in change.unset:
        if role not in roles:
            raise InvalidInput(f"roles.{role} is not declared: nothing to remove")
        del roles[role]
    for role, column in change.set.items():
        roles[role] = list(column) if role in LISTED_ROLES else column
    if change.event:
        status = roles.get("status")
        column = status.get("column") if isinstance(status, dict) else status
        if not column:
            raise InvalidInput("--event names the status's event codes: declare the status column too (--status)")
        roles["status"] = {"column": column, "event": list(change.event)}
    return roles


def _check_against_data(repo: Repository, trial: str, metadata: Metadata) -> None:
    """Raise InvalidInput, naming the role, when the latest version's rows do not bear a role out."""
    version_view(repo.dataset(trial).version(), metadata, {}).con.close()


def _describe(change: RoleChange) -> str:
    said = [f"{role}={','.join(c) if isinstance(c, list) else c}" for role, c in change.set.items()]
    said += [f"status events={','.join(map(str, change.event))}"] if change.event else []
    said += [f"-{role}" for role in change.unset]
    return " ".join(said)
