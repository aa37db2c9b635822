"""How a release relates to the trial, its source and the other releases, in DataCite's terms.

A DataCite ``relatedIdentifier`` (relatedIdentifier, relatedIdentifierType,
relationType, resourceTypeGeneral) is what repositories and registries read
to link versions of a dataset. A release IsVersionOf the trial; it
IsDerivedFrom the version it de-identifies and the delivery that version
came from; it IsNewVersionOf the previous release of its tier.

A package is immutable, so it can only state what holds from the moment it
is built: the relations of ``at_build`` (the previous release counts only if
it was recorded before this one, so rebuilding later gives the same bytes).
What later releases add (IsPreviousVersionOf the next release of the tier,
IsObsoletedBy the newest) is computed at read time by ``of_release`` from the
records alone, and shown by ``ipd status`` and written by ``ipd pull --tier``.

A reissue (issue K of the same version and tier, ``release.record``) states in
its package what its first issue states, so a reissue that changes nothing
gives the same bytes and is refused; that it IsNewVersionOf the previous issue
is known from the records, and added at read time. Releases are ordered by
(version, issue).

Identifiers are the URNs the PROV records use (``urn:ipd-repo:TRIAL/...``):
a repository has no DOIs to give. Two keys beyond DataCite's say which bytes
are meant: ``fingerprint`` for a version, ``sha256`` for a delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..provenance import NAMESPACE
from .record import release_name

if TYPE_CHECKING:
    from ..repository.records import VersionRecord
    from .record import ReleaseRecord

IS_VERSION_OF, IS_DERIVED_FROM = "IsVersionOf", "IsDerivedFrom"
IS_NEW_VERSION_OF, IS_PREVIOUS_VERSION_OF, IS_OBSOLETED_BY = "IsNewVersionOf", "IsPreviousVersionOf", "IsObsoletedBy"


def trial_id(trial: str) -> str:
    return f"{NAMESPACE}{trial}"


def version_id(trial: str, version: str) -> str:
    return f"{NAMESPACE}{trial}/{version}"


def release_id(trial: str, version: str, tier: str, issue: int = 1) -> str:
    """As the release's PROV entity is named (``ipd:TRIAL/releases/vN-TIER``, ``…/vN-TIER-K`` for issue K)."""
    return f"{NAMESPACE}{trial}/releases/{release_name(version, tier, issue)}"


def delivery_id(trial: str, file: str) -> str:
    return f"{NAMESPACE}{trial}/{file}"


def relation(identifier: str, relation_type: str, general: str = "Dataset", **extra: Any) -> dict[str, Any]:
    return {"relatedIdentifier": identifier, "relatedIdentifierType": "URN", "relationType": relation_type,
            "resourceTypeGeneral": general, **extra}


def original_delivery(versions: list[VersionRecord], version: str) -> dict[str, Any] | None:
    """The delivery a version's data came from: its own, or (for a correction) its nearest ancestor's."""
    by_name = {r.version: r for r in versions}
    record = by_name.get(version)
    while record is not None and not record.delivery:
        record = by_name.get(record.parent) if record.parent else None
    return record.delivery if record is not None else None


def at_build(versions: list[VersionRecord], releases: list[ReleaseRecord], trial: str, version: str, tier: str,
             recorded_before: set[str] | None = None,
             sealed: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """What a package states: relations that hold from when it is built and never change.

    ``recorded_before``: for a release being built again, the names (``vN-TIER``)
    of the releases recorded before it was (None while it is built for the
    first time: every release recorded so far); only those count. The previous
    release is the latest issue of an earlier version: an issue of the same
    version is not, so a reissue states what its first issue does.
    ``sealed``: for what leaves the restricted zone (``release.sealing``): the version's fingerprint is sealed,
    and the delivery is named by its sealed SHA-256 alone, neither its file name nor its hash shown.
    """
    found = [relation(trial_id(trial), IS_VERSION_OF)]
    source = next((r for r in versions if r.version == version), None)
    if source is not None:
        fingerprint = sealed(source.fingerprint) if sealed else source.fingerprint
        found.append(relation(version_id(trial, version), IS_DERIVED_FROM, fingerprint=fingerprint))
    delivery = original_delivery(versions, version)
    if delivery and sealed:
        opaque = sealed(delivery["sha256"]).removeprefix("sealed:")[:32]
        found.append(relation(f"{NAMESPACE}{trial}/delivery/{opaque}", IS_DERIVED_FROM))
    elif delivery:
        found.append(relation(delivery_id(trial, delivery["file"]), IS_DERIVED_FROM, sha256=delivery["sha256"]))
    number = int(version[1:])
    earlier = [r for r in releases if r.tier == tier and r.number < number
               and (recorded_before is None or r.name in recorded_before)]
    if earlier:
        previous = max(earlier, key=lambda r: r.order)
        found.append(relation(release_id(trial, previous.version, tier, previous.issue), IS_NEW_VERSION_OF))
    return found


def of_release(versions: list[VersionRecord], releases: list[ReleaseRecord], trial: str, version: str,
               tier: str, issue: int = 1) -> list[dict[str, Any]]:
    """Every relation of a recorded release as the records stand now, including those later releases add."""
    found = at_build(versions, releases, trial, version, tier)
    if issue > 1:
        found.append(relation(release_id(trial, version, tier, issue - 1), IS_NEW_VERSION_OF))
    later = sorted((r for r in releases if r.tier == tier and r.order > (int(version[1:]), issue)),
                   key=lambda r: r.order)
    if later:
        found.append(relation(release_id(trial, later[0].version, tier, later[0].issue), IS_PREVIOUS_VERSION_OF))
        found.append(relation(release_id(trial, later[-1].version, tier, later[-1].issue), IS_OBSOLETED_BY))
    return found


def relations(repo_root: Path, trial: str, version: str, tier: str, issue: int = 1) -> list[dict[str, Any]]:
    """The relations of ``TRIAL@version``'s release for ``tier`` (issue ``issue``), read from the work tree."""
    from ..repository import Repository
    from .record import records

    versions = Repository(repo_root).dataset(trial).records()
    return of_release(versions, records(repo_root, trial, tier), trial, version, tier, issue)


def obsoleted_by(found: list[dict[str, Any]]) -> str | None:
    """The release name (``vN-TIER``, ``vN-TIER-K``) a list of relations says obsoletes it, if any."""
    for item in found:
        if item["relationType"] == IS_OBSOLETED_BY:
            return item["relatedIdentifier"].rsplit("/", 1)[-1]
    return None
