"""The curation history checked against the catalogue's publication records (``catalogue.anchor``).

Every publication vouches for the curation commit that recorded the release,
the release record's and PROV record's SHA-256 (the head of the hash chain
then), the released rows' fingerprint and the version's, sealed. A curation
history rewritten after publication, however consistently, no longer matches
what the other zone recorded. The catalogue's copy of each release record must
also be the curation's, sealed, and its package metadata the recorded files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..backends.git import Git
from ..backends.hashing import sha256_if_any
from ..catalogue import configured, paths
from ..catalogue.anchor import Publication, read_publications
from ..catalogue.publish import package_hashes
from ..catalogue.seal import public_record
from ..errors import RepoError
from ..progress import SILENT, Progress
from ..release import ids, package
from ..release.record import ReleaseRecord, latest_issue, records
from ..release.sealing import seal
from ..repository import Repository, layout
from .report import Problem


def check(repo: Repository, trials: list[str], result, progress: Progress = SILENT) -> None:
    url = configured(repo.settings, repo.root)
    if url is None:
        return
    with tempfile.TemporaryDirectory(prefix="ipd-verify-") as scratch:
        with progress.step(f"the catalogue {url}: publication records"):
            try:
                clone = Git.clone(url, Path(scratch) / "catalogue")
            except RepoError as exc:
                result.not_checked.append(Problem(f"catalogue {url}", f"cannot be read here: {exc}"))
                return
            published = {p.release: p for p in read_publications(clone.root)}
            for trial in trials:
                _check_trial(repo, trial, clone.root, published, url, result)


def _check_trial(repo: Repository, trial: str, catalogue: Path, published: dict[str, Publication], url: str,
                 result) -> None:
    releases = records(repo.root, trial)
    mine = {r.reference: r for r in releases}
    theirs = {name: p for name, p in published.items() if name.startswith(f"{trial}@")}
    for name in sorted(theirs.keys() - mine.keys()):
        result.add(f"publication {name}", f"the catalogue {url} publishes a release this repository has no record "
                                          "of: the curation history lost it, or was rewritten")
    for name in sorted(mine.keys() - theirs.keys()):
        if _reissued(mine[name], releases):
            continue  # an earlier issue needs no publication once a later one serves its version and tier
        result.not_checked.append(Problem(f"release {name}", f"not published in the catalogue {url}"))
    if not theirs.keys() & mine.keys():
        return
    linkage = ids.read(repo.root, trial)
    for name in sorted(theirs.keys() & mine.keys()):
        for problem in _problems(repo, mine[name], theirs[name], catalogue, linkage.secret if linkage else None):
            result.add(f"publication {name}", problem)


def _problems(repo: Repository, record: ReleaseRecord, publication: Publication, catalogue: Path,
              secret: bytes | None) -> list[str]:
    trial_paths = layout.trial(record.trial)
    record_path = trial_paths.release_record(record.name)
    found = []
    commit = repo.scm.commit_adding(record_path)
    if commit != publication.curation_commit:
        found.append(f"the catalogue recorded it as committed in {publication.curation_commit[:12]}, but here it "
                     f"was in {(commit or 'no commit')[:12]}: the curation history was rewritten after publication")
    if sha256_if_any(repo.root / record_path) != publication.release_record_sha256:
        found.append(f"{record_path} is not the release record the catalogue recorded at publication")
    prov = trial_paths.provenance_record(record.name)
    if sha256_if_any(repo.root / prov) != publication.provenance_sha256:
        found.append(f"{prov} is not the PROV record (head of the hash chain) the catalogue recorded")
    if record.fingerprint != publication.fingerprint:
        found.append(f"the released rows' fingerprint is {record.fingerprint}; the catalogue recorded "
                     f"{publication.fingerprint}")
    if secret is None:
        found.append("its linkage is missing, so its sealed identifiers cannot be checked")
        return found
    if seal(secret, record.version_fingerprint) != publication.version_sealed:
        found.append(f"the version fingerprint {record.version_fingerprint} is not the one the catalogue recorded")
    public = catalogue / paths.record(record.trial, record.name)
    if not public.is_file() or public.read_text() != public_record(record, secret).to_json():
        found.append(f"the catalogue's {paths.record(record.trial, record.name)} is not this release record, sealed")
    listed = {n: h for n, h in record.files.items() if not package.is_data(record.trial, n)}
    if package_hashes(catalogue, record) != listed:
        found.append(f"the catalogue's {paths.package(record.trial, record.name)} does not hold the recorded files")
    return found


def _reissued(release: ReleaseRecord, releases: list[ReleaseRecord]) -> bool:
    return latest_issue(releases, release.version, release.tier).issue > release.issue
