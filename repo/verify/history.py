"""Records as written, the hash chain of PROV records, and tags.

Records are written once, in the commit that adds them; so the work tree must
hold exactly what that commit added (this catches an edit to the latest
record, which no later record hashes). Each PROV record names the SHA-256 of
its parent's, and a release's PROV record that of its version's, so an edit
anywhere earlier breaks a link. A tag must point at the commit that added
its version's record.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..backends.hashing import sha256_if_any
from ..release import record as releases
from ..repository import Repository, layout
from ..repository.records import VersionRecord
from ..repository.transaction import UNDO_PREFIX
from .report import Problem


def check(repo: Repository, trial: str, records: list[VersionRecord], result) -> dict[str, str]:
    """Add the problems found to ``result``; returns path -> the commit that added it, for the other checks."""
    files = layout.trial(trial)
    folders = [files.versions, files.provenance, files.releases]
    added = repo.scm.added_in(*folders)
    _as_written(repo, folders, added, result)
    for record in records:
        _version_chain(repo.root, record, result)
    for release in releases.records(repo.root, trial):
        _release_chain(repo.root, release, result)
        _approval(repo, release, added, result)
    _tags(repo, trial, added, result)
    return added


def _as_written(repo: Repository, folders: list[str], added: dict[str, str], result) -> None:
    root = repo.root
    present = sorted(p.relative_to(root).as_posix() for folder in folders if (root / folder).is_dir()
                     for p in (root / folder).glob("*.json"))
    for rel in present:
        commit = added.get(rel)
        if commit is None:
            result.add(rel, "is not committed: records are committed when they are written")
        elif repo.scm.blob(commit, rel) != (root / rel).read_bytes():
            result.add(rel, f"differs from the record added in commit {commit[:12]}: "
                            "it was edited after it was written")
    deletions = repo.scm.deleted_in(*folders)
    for rel in sorted(set(added) - set(present)):
        if rel.endswith(".json") and not (root / rel).exists() and not _undone(repo, deletions.get(rel), added[rel]):
            result.add(rel, f"was deleted (it was added in commit {added[rel][:12]})")
    for rel in present:
        deletion = deletions.get(rel)
        if deletion is not None and rel in added and not deletion.message.startswith(UNDO_PREFIX):
            result.add(rel, f"was deleted in commit {deletion.sha[:12]} and added again in commit "
                            f"{added[rel][:12]}: records are written once")


def _undone(repo: Repository, deletion, added: str) -> bool:
    """Whether ``ipd recover`` took the record back with the interrupted command that wrote it (so it is no
    version): the commit that deleted it, after its addition, says so."""
    return (deletion is not None and deletion.message.startswith(UNDO_PREFIX)
            and repo.scm.is_ancestor(added, deletion.sha))


def load(path: Path):
    """A PROV record read back (``provenance.lineage.Record``), or None when the file is missing or not PROV-JSON."""
    from ..errors import IntegrityError
    from ..provenance.lineage import Record

    if not path.is_file():
        return None
    try:
        return Record.read(path.parent, path.name)
    except IntegrityError:
        return None


def attribute(record, identifier: str, name: str) -> str | None:
    """One attribute of the element ``identifier`` as text (None when the element or attribute is missing)."""
    value = record.attr(identifier, name)
    return None if value is None else str(value)


def _version_chain(root: Path, record: VersionRecord, result) -> None:
    trial, version = record.trial, record.version
    files = layout.trial(trial)
    rel, named = files.provenance_record(version), files.version_record(version)
    doc = load(root / rel)
    if doc is None:
        result.add(rel, f"is missing or not PROV-JSON ({named} needs it)")
        return
    entity = f"ipd:{trial}/{version}"
    expected = {"ipd:fingerprint": record.fingerprint, "ipd:rows": str(record.rows),
                "ipd:parts": ",".join(f"{p.name}:{p.md5}" for p in record.parts)}
    for name, value in expected.items():
        found = attribute(doc, entity, name)
        if found != value:
            result.add(rel, f"{name} is {found}, but {named} says {value}")
    if record.parent:
        parent = files.provenance_record(record.parent)
        want, found = sha256_if_any(root / parent), attribute(doc, entity, "ipd:previousRecordSha256")
        if want is not None and found != want:
            result.add(rel, f"ipd:previousRecordSha256 is {found}, but {parent} hashes to {want}")
    entries = attribute(doc, f"ipd:{trial}/corrections.jsonl#{version}", "ipd:entries")
    if record.corrections and entries != ",".join(record.corrections):
        result.add(rel, f"ipd:entries is {entries}, but {named} names "
                        f"{','.join(record.corrections)}")


def _release_chain(root: Path, release: releases.ReleaseRecord, result) -> None:
    trial, version = release.trial, release.version
    files = layout.trial(trial)
    rel = files.provenance_record(release.name)
    doc = load(root / rel)
    named = files.release_record(release.name)
    if doc is None:
        result.add(rel, f"is missing or not PROV-JSON ({named} needs it)")
        return
    source = files.provenance_record(version)
    want, found = sha256_if_any(root / source), attribute(doc, f"ipd:{trial}/{version}", "ipd:provenanceRecordSha256")
    if found != want:
        result.add(rel, f"ipd:provenanceRecordSha256 is {found}, but {source} hashes to {want}")
    entity = f"ipd:{trial}/releases/{release.name}"
    for name, value in {"ipd:fingerprint": release.fingerprint,
                        "ipd:manifestSha256": release.files.get("manifest.json", "")}.items():
        found = attribute(doc, entity, name)
        if found != value:
            result.add(rel, f"{name} is {found}, but {named} says {value}")


def _approval(repo: Repository, release: releases.ReleaseRecord, added: dict[str, str], result) -> None:
    """The release's PROV record, its record and the approval file it was built under must tell one story:
    the same approval (file hash, plan hash, time) and the same approver. Changing who approved a release
    means changing all three consistently, and the approval file as committed with the release."""
    files = layout.trial(release.trial)
    rel, named = files.provenance_record(release.name), files.release_record(release.name)
    doc = load(repo.root / rel)
    approval = release.approval or {}
    if doc is None or "file" not in approval:
        return  # a missing PROV record is reported by _release_chain; a release without approval by the rebuild
    entity = f"ipd:{release.trial}/{approval['file']}"
    said = {"ipd:sha256": approval.get("sha256"), "ipd:planSha256": approval.get("plan_sha256"),
            "ipd:when": approval.get("when")}
    for name, value in said.items():
        found = attribute(doc, entity, name)
        if found != value:
            result.add(rel, f"the approval's {name} is {found}, but {named} says {value}")
    approvers = [str(doc.attr(agent, "ipd:name")) for agent in doc.related("ProvAttribution", entity)]
    if approvers != [approval.get("by")]:
        result.add(rel, f"the approval is attributed to {', '.join(approvers) or 'nobody'}, but {named} says it was "
                        f"approved by {approval.get('by')}")
    path, commit = files.file(approval["file"]), added.get(named)
    committed = repo.scm.blob(commit, path) if commit else None
    if committed is None:
        result.add(path, f"is not in commit {commit[:12] if commit else '(none)'}, which recorded {named}")
        return
    if hashlib.sha256(committed).hexdigest() != approval.get("sha256"):
        result.add(path, f"as committed with {named} does not hash to the approval it names")
    elif json.loads(committed).get("by") != approval.get("by"):
        result.add(path, f"says it was approved by {json.loads(committed).get('by')}, but {named} says "
                         f"{approval.get('by')}")


def _tags(repo: Repository, trial: str, added: dict[str, str], result) -> None:
    for tag, commit in sorted(repo.scm.tags(f"{trial}/").items()):
        version = tag.removeprefix(f"{trial}/")
        rel = layout.trial(trial).version_record(version)
        should = added.get(rel)
        if should is None:
            result.add(f"tag {tag}", f"names no version: {rel} was never committed")
        elif commit != should:
            result.add(f"tag {tag}", f"points at commit {commit[:12]}, but {rel} was added in commit {should[:12]}")
        _signature(repo, tag, result)


def _signature(repo: Repository, tag: str, result) -> None:
    """A signed tag must verify; one git cannot check here (no key, no allowed signers) is listed as such."""
    state, said = repo.scm.tag_signature(tag)
    if state == "bad":
        result.add(f"tag {tag}", f"its signature does not verify ({said})")
    elif state == "unchecked":
        result.not_checked.append(Problem(f"tag {tag}", f"signed, but git cannot check the signature here ({said})"))
