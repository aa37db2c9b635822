"""Naming a curation repository's release catalogue: ``ipd remote catalogue URL``, ``ipd init --catalogue URL``.

The catalogue is created when the URL is a local path that does not exist
yet (a bare repository, as a git server holds it); an empty git repository is
given its first commit; an existing catalogue must be paired with the same
release remote as the curation repository, since a catalogue's pointers name
bytes in that remote and nowhere else.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from ..backends import storage
from ..backends.git import Git
from ..errors import InvalidInput
from ..repository import Repository, layout
from . import FORMAT, MARKER, SETTING

README = """# Release catalogue

De-identified releases of clinical trials, published by ipd-repo. Only what a
release may show is here: each release's record, its package's metadata, its
release notes and provenance; the data bytes are in the release DVC remote.

    ipd pull TRIAL@vN --tier TIER --from THIS_URL --out DIR
    dvc get THIS_URL datasets/TRIAL/releases/vN-TIER
"""


@dataclass(frozen=True)
class Catalogue:
    url: str
    release_remote: str
    created: bool  # this call created the catalogue (or gave an empty repository its first commit)


def normalised(url: str) -> str:
    """A local path made absolute (the catalogue is named from elsewhere too); any other URL as given."""
    if storage.is_local(url) and not url.startswith("file://"):
        return os.path.abspath(os.path.expanduser(url))
    return url


def release_remote_url(repo: Repository) -> str:
    """The curation repository's release remote, as an absolute URL a catalogue clone anywhere can use."""
    name = repo.settings.get("remotes", {}).get("release", storage.RELEASE_REMOTE)
    url = storage.configured_url(repo.root, name)
    if not url:
        raise InvalidInput("this repository has no release remote: add one first with `ipd remote release URL`")
    if storage.is_local(url) and not url.startswith("file://") and not os.path.isabs(os.path.expanduser(url)):
        url = os.path.normpath(repo.root / layout.DVC / url)  # DVC stores local remotes relative to .dvc/
    return url


def set_catalogue(repo: Repository, url: str) -> Catalogue:
    """Pair the repository with the catalogue at ``url`` (created if it is a new local path); committed."""
    if not url.strip():
        raise InvalidInput("give the catalogue's URL: a git repository (a local path or any git URL)")
    url = normalised(url)
    if storage.is_local(url) and os.path.realpath(url) == os.path.realpath(repo.root):
        raise InvalidInput(f"{url} is this curation repository: the catalogue must be a repository of its own")
    release = release_remote_url(repo)
    stored = _carried(repo.root, url) or url
    with repo.writing([layout.SETTINGS]):
        created = _prepare(url, release, _paired_as(repo.root, url, release))
        settings = tomlkit.parse((repo.root / layout.SETTINGS).read_text())
        table = settings.setdefault("remotes", tomlkit.table())
        if table.get(SETTING) != stored:
            table[SETTING] = stored
            (repo.root / layout.SETTINGS).write_text(tomlkit.dumps(settings))
            repo.scm.commit([layout.SETTINGS], f"ipd remote catalogue {stored}")
    return Catalogue(url, release, created)


def _carried(root: Path, path: str) -> str | None:
    """``path`` relative to the curation repository when it lies inside its work tree (git carries it along,
    as the example repository carries its catalogue and remotes); None otherwise."""
    if not storage.is_local(path) or path.startswith("file:"):
        return None
    relative = os.path.relpath(os.path.realpath(path), os.path.realpath(root))
    return None if relative == os.pardir or relative.startswith(os.pardir + os.sep) else Path(relative).as_posix()


def _paired_as(root: Path, url: str, release: str) -> str:
    """The release remote as the catalogue names it: relative to the catalogue's ``.dvc/`` (as DVC reads a
    local remote) when the curation repository carries both, so that any clone of it finds the pair; else
    the absolute URL."""
    if _carried(root, url) is None or _carried(root, release) is None:
        return release
    return Path(os.path.relpath(os.path.realpath(release), os.path.realpath(url) + "/" + layout.DVC)).as_posix()


def _resolved(url: str, named: str) -> str:
    """A catalogue's release remote as an absolute URL: a relative one is relative to its ``.dvc/``."""
    if not storage.is_local(named) or named.startswith("file:") or os.path.isabs(named):
        return named
    if not storage.is_local(url):
        return named  # a catalogue elsewhere naming a relative remote: nothing here to resolve it against
    return os.path.normpath(os.path.join(url.removeprefix("file://"), layout.DVC, named))


def _prepare(url: str, release: str, paired_as: str) -> bool:
    """Make ``url`` a catalogue paired with ``release`` (True when it had to be set up); refuse a mismatch."""
    if storage.is_local(url) and not Path(url.removeprefix("file://")).exists():
        Git.init_bare(Path(url.removeprefix("file://")))
    elif not Git.is_repository(url):
        raise InvalidInput(f"{url} is not a git repository: a catalogue is one (a local path, or any git URL)")
    with tempfile.TemporaryDirectory(prefix="ipd-catalogue-") as scratch:
        clone = Git.clone(url, Path(scratch) / "catalogue")
        marker = clone.root / MARKER
        if marker.is_file():
            _check_marker(url, marker, release)
            return False
        if clone.head() is not None:
            raise InvalidInput(f"{url} already has commits but no {MARKER}: it is not a catalogue; give an empty "
                               "repository or a new path")
        _write_skeleton(clone.root, paired_as)
        clone.commit([MARKER, layout.DVC_CONFIG, layout.DVC_GITIGNORE, "README.md"], "ipd catalogue")
        clone.push()
    return True


def _check_marker(url: str, marker: Path, release: str) -> None:
    try:
        found = tomllib.loads(marker.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{url}: {MARKER} is not TOML ({exc})") from exc
    check_pairing(url, found, release)


def check_pairing(url: str, marker: dict, release: str) -> None:
    """A catalogue this ipd reads, whose pointers name bytes in ``release``: the remote releases are pushed to."""
    if marker.get("format") != FORMAT:
        raise InvalidInput(f"{url}: {MARKER} says format {marker.get('format')!r}; this ipd reads {FORMAT}")
    theirs = _resolved(url, marker.get("remotes", {}).get("release", ""))
    if theirs != release:
        raise InvalidInput(f"{url} publishes to the release remote {theirs}, but this repository's is {release}: "
                           "pair the catalogue with the same release remote")


def _write_skeleton(root: Path, release: str) -> None:
    """The catalogue's marker, its DVC config (the release remote as default, so ``dvc get`` works) and README."""
    marker = tomlkit.document()
    marker["format"] = FORMAT
    remotes = tomlkit.table()
    remotes["release"] = release
    marker["remotes"] = remotes
    (root / MARKER).write_text(tomlkit.dumps(marker))
    (root / layout.DVC).mkdir(exist_ok=True)
    (root / layout.DVC_CONFIG).write_text(
        "[core]\n    remote = release\n    analytics = false\n"
        f"['remote \"release\"']\n    url = {release}\n")
    (root / layout.DVC_GITIGNORE).write_text("/config.local\n/tmp\n/cache\n")
    (root / "README.md").write_text(README)


def read_marker(root: Path) -> dict:
    """The marker of a catalogue checked out at ``root``; InvalidInput when it is not a catalogue."""
    marker = root / MARKER
    if not marker.is_file():
        raise InvalidInput(f"{root} is not a release catalogue (no {MARKER})")
    return tomllib.loads(marker.read_text())
