"""``ipd catalogue audit``: no value a release removed may be anywhere in the release zone.

A catalogue is published once and cloned by anyone granted it: whatever one
of its commits ever held, a later commit cannot take back. So the audit reads
every blob of every commit any ref reaches (``git rev-list --all --objects``,
each blob once), and every object of the release remote named at the
catalogue's head (local directory remotes only; another URL is reported as not
checked), and looks in each for the needles of ``needles.collect``: the values
of the curation repository's released versions that their releases deleted or
replaced, each release's under the plan it was built by. A file of one release
(its record, package, notes, PROV and publication records: ``paths.release_of``)
is looked through for that release's needles, any other for every release's.

A finding names the file (its path in the catalogue; for a remote object its
path in the remote and the catalogue paths the history's ``.dvc`` files give
it), the commits that brought it in, the trial, the source column and the kind
of value; never the value, only its keyed hash (``needles.value_hash``), since
the report may be read by people the values were removed for.

What it cannot see, honestly: a value it does not know the spelling of (a date
written ``4th of March``, a number rounded or reformatted, a name misspelt);
a short value (under five characters, or a number of under five significant
digits, a key of under four) anywhere but as a whole table column that holds
the source column's values (a table holding only a few participants' short
values is not found); a value inside compressed archives; a transformed value
that can be turned back (a shifted date with its offset); and values of
releases or trials the curation repository does not record; and, for a release
whose plan is no longer recoverable (the report's notes name it), what its own
rules removed: it is held to the current approval instead. A text value that
is also a value of a column released as it is, or a column's name, is not
looked for as text: finding it would say nothing.
"""

from __future__ import annotations

import json
import posixpath
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ..backends.git import History
from ..backends.storage import local_remote_path
from ..progress import SILENT, Progress
from . import configured, haystacks
from .matching import Index, holds
from .matching import counts as value_counts
from .needles import Column, Needles, collect
from .paths import release_of

if TYPE_CHECKING:
    from ..repository import Repository

SETTINGS = "catalogue.toml"
DVC_CONFIG = ".dvc/config"
RELEASE_REMOTE = "release"
LISTED_HASHES = 100  # in the JSON report; ``values`` counts them all


@dataclass(frozen=True)
class Place:
    """Where a finding is: a blob of the history, or an object of the release remote."""

    file: str | None  # its path in the catalogue (the first, when it has several); None for a nameless object
    paths: list[str]  # every path the catalogue gives it
    commits: list[str]  # short shas of the commits that brought it in
    blob: str | None = None  # git's short sha of the blob, for a file of the history
    at_head: bool | None = None  # whether the blob is still a file at HEAD (removing it there is not enough)
    object: str | None = None  # its path in the release remote, for a remote object


@dataclass
class Finding:
    place: Place
    trial: str
    column: str
    kind: str  # deleted, key, date, recoded, beyond coding
    releases: list[str]
    hashes: list[str] = field(default_factory=list)  # keyed hashes of the values found (never the values)
    table_columns: list[str] = field(default_factory=list)  # columns of a table that hold the source column

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self.place), "trial": self.trial, "column": self.column, "kind": self.kind,
                "releases": self.releases, "values": len(self.hashes), "hashes": self.hashes[:LISTED_HASHES],
                "table_columns": self.table_columns}


@dataclass
class AuditResult:
    catalogue: str
    remote: str | None
    releases: list[str]  # TRIAL@vN-TIER whose values were looked for
    commits: int = 0
    blobs: int = 0
    objects: int = 0
    findings: list[Finding] = field(default_factory=list)
    not_checked: list[dict[str, str]] = field(default_factory=list)  # {"object", "reason"}
    notes: list[str] = field(default_factory=list)  # releases held to the current rules, not their own: why

    @property
    def success(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {"success": self.success, "catalogue": self.catalogue, "remote": self.remote,
                "releases": self.releases, "commits": self.commits, "blobs": self.blobs, "objects": self.objects,
                "findings": [f.to_json() for f in self.findings], "not_checked": self.not_checked,
                "notes": self.notes}


def audit(repo: Repository, catalogue: str, progress: Progress = SILENT) -> AuditResult:
    needles = collect(repo, progress)
    scanner = Scanner(needles)
    with History.opened(catalogue) as history:
        result = AuditResult(catalogue, None, sorted(needles.released), history.commits(), notes=needles.notes)
        pointers = _scan_history(scanner, history, result, progress)
        result.remote, store = _remote(history, result)
        _other_trials(repo, history, result)
    if store is not None:
        _scan_remote(scanner, result, store, pointers, progress)
    result.findings.sort(key=lambda f: (f.place.object or "", f.place.file or "", f.trial, f.column, f.kind))
    return result


def _scan_history(scanner: Scanner, history: History, result: AuditResult,
                  progress: Progress) -> dict[str, dict[str, list[str]]]:
    """Scan every blob; returns, per MD5 the history's ``.dvc`` files name, its catalogue paths and the commits
    that brought those files in (oldest first)."""
    appearances = history.appearances()
    pointers: dict[str, dict[str, list[str]]] = {}
    blobs = history.blobs()
    head = set(history.files().values())
    with progress.step("reading the catalogue's history", total=len(blobs)) as advance:
        for sha, first in blobs:
            seen = appearances.get(sha, [])[::-1]  # git log lists the newest first
            paths = sorted({a.path for a in seen} or {first})
            commits = list(dict.fromkeys(a.commit[:7] for a in seen))
            data = history.read(sha)
            if any(p.endswith(".dvc") for p in paths):
                for md5, path in _outs(data, paths):
                    named = pointers.setdefault(md5, {"paths": [], "commits": []})
                    named["paths"] = sorted({*named["paths"], path})
                    named["commits"] += [c for c in commits if c not in named["commits"]]
            place = Place(paths[0], paths, commits, blob=sha[:7], at_head=sha in head)
            _scan(scanner, result, place, data, paths[0])
            advance(1)
    result.blobs = len(blobs)
    return pointers


class Scanner:
    """The needles, indexed once, and every file of the catalogue looked through for them (``publish`` can
    look at a package's files the same way before they go out)."""

    def __init__(self, needles: Needles) -> None:
        self.needles = needles
        self.texts = list(needles.texts)
        self.index = Index(self.texts)

    def scan(self, place: Place, data: bytes, name: str | None) -> tuple[list[Finding], str | None]:
        """The findings in ``data`` (its catalogue path ``name``, when known), one per source column; and why
        a file that looks like a table could not be read as one, if it could not."""
        found: dict[Column, Finding] = {}
        owners, loose = self._owners(place.paths or ([name] if name else []))
        haystack = haystacks.read(data, name)
        for i in self.index.search(haystack.text):
            text = self.texts[i]
            for needle in self.needles.texts[text]:
                if haystack.is_table and not needle.in_tables:
                    continue
                if needle.group not in owners and not (loose and text not in self.needles.public):
                    continue
                finding = self._finding(found, place, needle.column, needle.group)
                if needle.value not in finding.hashes:
                    finding.hashes.append(needle.value)
        for table in haystack.tables:
            for name in table.column_names:
                values = value_counts(table[name])
                for (column, group), shape in self.needles.shapes.items():
                    if (loose or group in owners) and holds(values, table.num_rows, shape):
                        finding = self._finding(found, place, column, group)
                        if name not in finding.table_columns:
                            finding.table_columns.append(name)
        for finding in found.values():
            finding.hashes.sort()
        return list(found.values()), haystack.unreadable

    def _owners(self, paths: list[str]) -> tuple[set[int], bool]:
        """The groups of the releases the file belongs to by its paths, and whether it also belongs to none
        (or to a release not recorded here): then every release's needles are looked for, but for the words
        some release released as they are."""
        owners, loose = set(), not paths
        for path in paths:
            owner = release_of(path)
            group = self.needles.of_release.get(f"{owner[0]}@{owner[1]}") if owner else None
            if group is None:
                loose = True
            else:
                owners.add(group)
        return owners, loose

    def _finding(self, found: dict[Column, Finding], place: Place, column: Column, group: int) -> Finding:
        if column not in found:
            found[column] = Finding(place, column.trial, column.name, column.kind, [])
        finding = found[column]
        if group < len(self.needles.groups):
            finding.releases = sorted({*finding.releases, *self.needles.groups[group]})
        return finding


def _scan(scanner: Scanner, result: AuditResult, place: Place, data: bytes, name: str | None) -> None:
    findings, unreadable = scanner.scan(place, data, name)
    result.findings.extend(findings)
    if unreadable:
        result.not_checked.append({"object": place.object or place.file or "",
                                   "reason": f"{unreadable}: its columns were not compared"})


def _outs(data: bytes, paths: list[str]) -> Iterator[tuple[str, str]]:
    """(md5, catalogue path) of each output a ``.dvc`` file names."""
    import yaml

    try:
        outs = yaml.safe_load(data.decode("utf-8", errors="replace"))["outs"]
    except (yaml.YAMLError, KeyError, TypeError):
        return
    for pointer in paths:
        for out in outs if isinstance(outs, list) else []:
            if isinstance(out, dict) and out.get("md5") and out.get("path"):
                yield str(out["md5"]), posixpath.normpath(posixpath.join(posixpath.dirname(pointer), out["path"]))


def _remote(history: History, result: AuditResult) -> tuple[str | None, Path | None]:
    """The release remote's URL at the catalogue's head, and its directory when it is a local one."""
    url = None
    settings = history.show("HEAD", SETTINGS)
    if settings is not None:
        try:
            url = tomllib.loads(settings.decode()).get("remotes", {}).get(RELEASE_REMOTE)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
            result.not_checked.append({"object": SETTINGS, "reason": "not readable as TOML at HEAD"})
    if not url:
        url = _dvc_remote(history)
    if not url:
        result.not_checked.append({"object": "release remote", "reason": f"neither {SETTINGS} nor {DVC_CONFIG} "
                                                                         "names one at HEAD"})
        return None, None
    parsed = urlparse(url)
    if parsed.scheme not in ("", "file") and len(parsed.scheme) != 1:
        result.not_checked.append({"object": url, "reason": "only local directory remotes are read"})
        return url, None
    path = Path(parsed.path if parsed.scheme == "file" else url).expanduser()
    if not path.is_absolute():
        if history.place is None:
            result.not_checked.append({"object": url, "reason": "a relative path, and the catalogue is not on this "
                                                                "machine to resolve it against"})
            return url, None
        path = local_remote_path(history.place, url)  # relative to the catalogue's .dvc/, as DVC reads it
    if not path.is_dir():
        result.not_checked.append({"object": url, "reason": "no such directory"})
        return url, None
    return url, path


def _dvc_remote(history: History) -> str | None:
    import configparser

    text = history.show("HEAD", DVC_CONFIG)
    if text is None:
        return None
    config = configparser.ConfigParser()
    try:
        config.read_string(text.decode("utf-8", errors="replace"))
    except configparser.Error:
        return None
    name = config.get("core", "remote", fallback=RELEASE_REMOTE)
    return config.get(f'\'remote "{name}"\'', "url", fallback=None) or config.get(f'remote "{name}"', "url",
                                                                                    fallback=None)


def _other_trials(repo: Repository, history: History, result: AuditResult) -> None:
    """Trials of the catalogue whose releases this repository does not record: nothing was looked for."""
    known = {r.split("@")[0] for r in result.releases}
    there = {p.split("/")[1] for p in history.files() if p.startswith("datasets/") and p.count("/") >= 2}
    for trial in sorted(there - known):
        result.not_checked.append({"object": f"datasets/{trial}", "reason": f"{repo.root} records no release of "
                                                                            f"{trial}: its values were not looked for"})


def _scan_remote(scanner: Scanner, result: AuditResult, store: Path, pointers: dict[str, dict[str, list[str]]],
                 progress: Progress) -> None:
    objects = sorted(p for p in store.rglob("*") if p.is_file())
    names = {p: _md5(p.relative_to(store)) for p in objects}
    for path, md5 in names.items():  # a directory's listing names its files
        if md5 and md5.endswith(".dir") and md5 in pointers:
            for relpath, inner in _listing(path):
                named = pointers.setdefault(inner, {"paths": [], "commits": []})
                inside = (posixpath.join(folder, relpath) for folder in pointers[md5]["paths"])
                named["paths"] = sorted({*named["paths"], *inside})
                named["commits"] += [c for c in pointers[md5]["commits"] if c not in named["commits"]]
    with progress.step("reading the release remote", total=len(objects)) as advance:
        for path in objects:
            named = pointers.get(names[path] or "", {"paths": [], "commits": []})
            paths = named["paths"]
            place = Place(paths[0] if paths else None, paths, named["commits"],
                          object=path.relative_to(store).as_posix())
            _scan(scanner, result, place, path.read_bytes(), paths[0] if paths else None)
            advance(1)
    result.objects = len(objects)
    missing = set(pointers) - set(filter(None, names.values()))
    if missing:
        result.not_checked.append({"object": "release remote", "reason": f"{len(missing)} object(s) the history's "
                                                                         ".dvc files name are not in it"})


def _md5(relative: Path) -> str | None:
    """The MD5 DVC stores an object under (``files/md5/ab/cdef…`` or DVC 2's ``ab/cdef…``)."""
    parts = relative.parts
    if len(parts) >= 2 and len(parts[-2]) == 2 and all(c in "0123456789abcdef" for c in parts[-2]):
        return parts[-2] + parts[-1]
    return None


def _listing(path: Path) -> list[tuple[str, str]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return [(str(e["relpath"]), str(e["md5"])) for e in entries if isinstance(e, dict)]
    except (ValueError, KeyError, TypeError, OSError):
        return []


def catalogue_of(repo: Repository, given: str | None) -> str | None:
    """The catalogue to audit: the one given, else ``remotes.catalogue`` of ``ipd.toml`` (a relative path there is
    relative to the repository)."""
    return given or configured(repo.settings, repo.root)
