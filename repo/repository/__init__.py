"""Find, open and initialise a repository; its settings; locking.

A repository is a git work tree with DVC initialised, an ``ipd.toml`` and the
layout ``datasets/ expectations/ provenance/``. Every command that writes runs
under the repository lock and inside a transaction, so two commands at once
cannot interleave and a failed one leaves nothing behind.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from filelock import FileLock, Timeout

from ..backends import storage
from ..backends.git import Git
from ..errors import InvalidInput, NotARepository, NotFound, RepositoryBusy
from . import layout, workflow
from .refs import check_trial_name
from .transaction import Transaction, transaction

LOCK_TIMEOUT = float(os.environ.get("IPD_LOCK_TIMEOUT", "10"))


@dataclass(frozen=True)
class InitResult:
    root: Path
    remote: str
    created: bool
    release_remote: str = ""


def default_remote(root: Path) -> Path:
    """A local directory outside the work tree, under the user's data directory."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "ipd" / "remotes" / f"{root.name}-{storage.short_id(str(root.resolve()))}"


def _settings_text(name: str) -> str:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("ipd repository settings"))
    doc["name"] = name
    remotes = tomlkit.table()
    remotes.add(tomlkit.comment("DVC remote (by name, see .dvc/config) for each kind of data"))
    remotes["restricted"] = storage.RESTRICTED_REMOTE
    remotes["release"] = storage.RELEASE_REMOTE
    doc["remotes"] = remotes
    return tomlkit.dumps(doc)


class Repository:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.scm = Git(root)
        self.settings = tomllib.loads((root / layout.SETTINGS).read_text())
        if Transaction(self.scm).pending():
            with _locked(self.scm):  # an interrupted change is undone before anyone reads
                pass

    # -- finding and creating -------------------------------------------------

    @classmethod
    def find(cls, path: str | Path = ".") -> Repository:
        return cls(find_root(path))

    @classmethod
    def init(cls, path: str | Path = ".", remote: str | None = None, release_remote: str | None = None) -> InitResult:
        root = Path(path).resolve()
        if root.exists() and not root.is_dir():
            raise InvalidInput(f"{path} exists and is not a directory")
        root.mkdir(parents=True, exist_ok=True)
        created = not (root / layout.SETTINGS).exists()
        scm = Git.init(root)
        url = remote or str(default_remote(root))
        has_release = storage.configured_url(root, storage.RELEASE_REMOTE)
        release_url = release_remote or (None if has_release else storage.beside(url))
        with _locked(scm):
            storage.init(root, url, release_url)
            for folder in layout.FOLDERS:
                (root / folder).mkdir(exist_ok=True)
                keep = root / folder / layout.GITKEEP
                if not any((root / folder).iterdir()):
                    keep.touch()
            if created:
                (root / layout.SETTINGS).write_text(_settings_text(root.name))
                workflow.write(root)
            keeps = [f"{folder}/{layout.GITKEEP}" for folder in layout.FOLDERS]
            paths = [layout.SETTINGS, layout.DVC_CONFIG, layout.DVC_GITIGNORE, layout.DVCIGNORE, layout.WORKFLOW,
                     *[k for k in keeps if (root / k).exists()]]
            if scm.has_changes(paths):
                scm.commit(paths, "ipd init")
        return InitResult(root, storage.remote_url(root), created, storage.configured_url(root, storage.RELEASE_REMOTE))

    # -- reading ----------------------------------------------------------------

    def trials(self) -> list[str]:
        return sorted(p.parent.name for p in self.root.glob(layout.ALL_TRIALS.metadata))

    def dataset(self, trial: str):  # -> datasets.Dataset (imported lazily: it pulls in pyarrow)
        from .datasets import Dataset

        check_trial_name(trial)
        if not (self.root / layout.trial(trial).metadata).is_file():
            raise NotFound(f"no trial {trial!r} in {self.root} (see `ipd list`)")
        return Dataset(self, trial)

    # -- writing ----------------------------------------------------------------

    @contextmanager
    def writing(self, paths: list[str]) -> Iterator[Transaction]:
        """Hold the lock and make the change to ``paths`` (and any tags announced) all-or-nothing."""
        with _locked(self.scm):
            with transaction(self.scm, paths) as txn:
                yield txn


def find_root(path: str | Path = ".") -> Path:
    """The repository holding ``path``: the nearest folder upwards with ``ipd.toml`` and ``.dvc/``."""
    start = Path(path).resolve()
    if not start.exists():
        raise NotARepository(f"{path}: no such directory")
    for candidate in (start, *start.parents):
        if (candidate / layout.SETTINGS).is_file() and (candidate / layout.DVC).is_dir():
            return candidate
    raise NotARepository(f"{path} is not inside an ipd repository (run `ipd init` first)")


@dataclass(frozen=True)
class Recovered:
    root: Path
    interrupted: bool  # whether a command had been interrupted at all
    how: str  # "none", "rolled back", "undone in a new commit", "forgotten"
    commit: str | None = None  # the new commit that undid it


def recover(path: str | Path = ".", forget: bool = False) -> Recovered:
    """Deal with a command that was interrupted part-way, as the curator chooses.

    Ordinarily any ipd command rolls such a change back by itself. It stops and asks when
    commits someone else made came after the interrupted command's own: then ``recover``
    undoes the change in a new commit on top of theirs, or (``forget``) keeps everything as it is.
    """
    root = find_root(path)
    scm = Git(root)
    with _locked(scm, undo_interrupted=False):
        txn = Transaction(scm)
        if not txn.pending():
            return Recovered(root, False, "none")
        if forget:
            txn.forget()
            return Recovered(root, True, "forgotten")
        history = txn.history(txn.journal())
        if history.ours and history.theirs:
            return Recovered(root, True, "undone in a new commit", txn.undo_in_new_commit())
        txn.rollback()
        return Recovered(root, True, "rolled back")


@contextmanager
def _locked(scm: Git, undo_interrupted: bool = True) -> Iterator[None]:
    lock = FileLock(scm.git_dir / layout.LOCK)
    (scm.git_dir / layout.PRIVATE).mkdir(exist_ok=True)
    try:
        lock.acquire(timeout=LOCK_TIMEOUT)
    except Timeout as exc:
        raise RepositoryBusy(
            f"{scm.root} is busy: another ipd command is writing to it (waited {LOCK_TIMEOUT:g} s)"
        ) from exc
    try:
        pending = Transaction(scm)
        if undo_interrupted and pending.pending():
            pending.rollback()  # an earlier command was killed part-way: undo it first
        yield
    finally:
        lock.release()
