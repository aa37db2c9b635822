"""Publishing a release to the catalogue: its public metadata to the catalogue's git, its data to the release remote.

What is written is decided here, file by file, and nothing else reaches the
catalogue: the public release record (restricted hashes sealed), the
package's metadata files as they are in the package (README, dictionary,
modification log, disclosure figures, DataCite/Frictionless/RO-Crate files,
manifest), a DVC pointer for each data file (its bytes are already in the
release remote, pushed by the build), the release notes, a PROV record with
sealed identifiers and the publication record (``anchor``). The catalogue is
changed in a scratch clone and pushed in one commit: a publication is whole or
absent, and a catalogue someone else pushed to meanwhile refuses the push.

A package of format 1 (built before sealing) names the version's fingerprint
and the delivery's file name and hash in its README, datapackage and RO-Crate:
it must not leave the restricted zone, so it is refused, and the curator
reissues it (``ipd release --reissue``) to publish the sealed issue instead.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..backends import storage
from ..backends.git import Git
from ..backends.hashing import md5_of, sha256_of
from ..errors import IntegrityError, InvalidInput
from ..progress import SILENT, Progress
from ..provenance import release_document
from ..release import ids, package
from ..release.record import ReleaseRecord
from ..repository import Repository, layout
from . import paths
from .anchor import Publication, publication_for
from .connect import check_pairing, read_marker, release_remote_url
from .seal import public_record

# Run on the scratch clone before the commit: (curation repository, catalogue root, what is being published,
# the catalogue paths written) -> problems, each naming a file and a column.
Audit = Callable[[Repository, Path, ReleaseRecord, list[str]], list[str]]


@dataclass(frozen=True)
class Published:
    url: str
    publication: Publication
    commit: str | None  # the catalogue commit; None when the release was published already, identically


def publish(repo: Repository, record: ReleaseRecord, url: str, progress: Progress = SILENT,
            notes: Callable[[Repository, ReleaseRecord], dict[str, str]] | None = None,
            audit: Audit | None = None) -> Published:
    """Publish ``record``'s release (built and committed in ``repo``) to the catalogue at ``url``.

    ``notes`` gives the release notes' files (suffix -> text); ``audit`` checks the catalogue as it would be
    pushed and names anything restricted found in it, which refuses the publication.
    """
    trial, name = record.trial, record.name
    if not record.sealed:
        raise InvalidInput(f"{record.label} is a release of package format 1, which names the version and its "
                           f"delivery by their restricted hashes: it cannot be published; reissue it (`ipd release "
                           f"{trial}@{record.version} --tier {record.tier} --reissue --reason ...`)")
    linkage = ids.read(repo.root, trial)
    if linkage is None:
        raise IntegrityError(f"{trial}: the release {name} has no linkage to seal its identifiers with")
    folder = layout.trial(trial).release_package(name)
    storage.materialize(repo.root, [folder], remote=_release_remote(repo))
    publication = publication_for(repo, record, linkage.secret)
    with tempfile.TemporaryDirectory(prefix="ipd-publish-") as scratch:
        with progress.step(f"opening the catalogue {url}"):
            clone = Git.clone(url, Path(scratch) / "catalogue")
            clone.set_identity(repo.scm.identity())
            check_pairing(url, read_marker(clone.root), release_remote_url(repo))
        existing = clone.root / paths.publication(trial, name)
        if existing.is_file():
            _same_publication(Publication.from_json(existing.read_text()), publication, url)
            return Published(url, Publication.from_json(existing.read_text()), None)
        with progress.step("writing the public metadata"):
            written = _write(repo, record, linkage.secret, clone.root, publication)
            for suffix, text in (notes(repo, record) if notes else {}).items():
                target = clone.root / paths.notes(trial, name, suffix)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                written.append(paths.notes(trial, name, suffix))
        if audit is not None:
            with progress.step("auditing what the catalogue would hold"):
                problems = audit(repo, clone.root, record, written)
            if problems:
                raise IntegrityError(f"not published: {problems[0]}")
        with progress.step("pushing to the catalogue"):
            issue = f", issue {record.issue}" if record.issue > 1 else ""
            clone.commit(written, f"{trial} {record.version}: {record.tier} release{issue} ({record.rows} "
                                  "participants)")
            clone.push()
        return Published(url, publication, clone.head())


def _release_remote(repo: Repository) -> str:
    return repo.settings.get("remotes", {}).get("release", storage.RELEASE_REMOTE)


def _write(repo: Repository, record: ReleaseRecord, secret: bytes, root: Path, publication: Publication) -> list[str]:
    """Every file of the publication into the clone at ``root``; their catalogue paths."""
    trial, name = record.trial, record.name
    source = repo.root / layout.trial(trial).release_package(name)
    target = root / paths.package(trial, name)
    target.mkdir(parents=True, exist_ok=True)
    data = {f for f in record.files if package.is_data(trial, f)}
    written: list[str] = []
    for file in sorted(record.files):
        if file in data:
            (target / f"{file}.dvc").write_text(storage.file_pointer(file, md5_of(source / file),
                                                                     (source / file).stat().st_size))
            written.append(f"{paths.package(trial, name)}/{file}.dvc")
        else:
            shutil.copyfile(source / file, target / file)
            written.append(f"{paths.package(trial, name)}/{file}")
    ignore = root / paths.ignore(trial)  # beside the package, not in it: the package holds its files alone
    listed = ignore.read_text().splitlines() if ignore.is_file() else []
    listed += [f"/{name}/{file}" for file in sorted(data)]
    ignore.write_text("".join(f"{line}\n" for line in dict.fromkeys(listed)))
    written.append(paths.ignore(trial))
    public = public_record(record, secret)
    texts = {
        paths.record(trial, name): public.to_json(),
        paths.provenance(trial, name): release_document(public, _author(record), None, sealed=True),
        paths.publication(trial, name): publication.to_json(),
    }
    for relative, text in texts.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
        written.append(relative)
    return written


def _author(record: ReleaseRecord):
    from ..backends.git import Identity

    name, _, email = record.author.rpartition(" <")
    return Identity(name or record.author, email.rstrip(">"))


def _same_publication(found: Publication, made: Publication, url: str) -> None:
    if found.anchor() != made.anchor():
        raise IntegrityError(f"{url} already publishes {made.release} with other contents (fingerprint "
                             f"{found.fingerprint}): a publication is never replaced")


def package_hashes(root: Path, record: ReleaseRecord) -> dict[str, str]:
    """SHA-256 of the metadata files of a published package (what ``ipd verify`` compares with the record)."""
    folder = root / paths.package(record.trial, record.name)
    return {f: sha256_of(folder / f) for f in sorted(record.files)
            if not package.is_data(record.trial, f) and (folder / f).is_file()}


