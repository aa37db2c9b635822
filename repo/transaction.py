"""All-or-nothing changes to a repository.

A command that writes declares the paths it may touch. Before it starts, each
existing path is copied aside and a journal is written. The bytes DVC manages
(the files git ignores: sources and Parquet parts) are copied as hard links,
which is free and safe because they are only ever replaced, never rewritten in
place. Everything else is really copied: DVC rewrites ``.dvc`` files and
appends to ``.gitignore`` in place, and so may ipd its own metadata, which
through a hard link would change the backup too.
If the command fails, or is killed and a later command finds the journal, the
paths are put back, the branch and index are reset and any new tags deleted:
the repository is exactly as it was. The journal is removed only after the
commit and tags exist, which is the moment the change becomes real.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import InvalidInput
from .gitscm import Git

JOURNAL = "ipd/journal.json"
BACKUP = "ipd/backup"
GIT_LOCK_GRACE = 2.0  # seconds; git holds its locks for milliseconds


@dataclass
class Journal:
    branch_ref: str
    head: str | None
    paths: list[str]
    existed: list[str]
    tags: list[str] = field(default_factory=list)


def _ignored_files(scm: Git, paths: list[str]) -> set[str]:
    """The files under ``paths`` git ignores: DVC's bytes, which are replaced, never rewritten."""
    if not paths:
        return set()
    listed = scm.repo.git.ls_files("-z", "--others", "--ignored", "--exclude-standard", "--", *paths)
    return {name for name in listed.split("\0") if name}


def _save_copy(root: Path, src: Path, dst: Path, linkable: set[str]) -> None:
    """Copy ``src`` (a file or a tree) to ``dst``: hard links where that is safe, real copies elsewhere."""

    def copy_file(source: str, target: str) -> None:
        if Path(source).relative_to(root).as_posix() in linkable:
            os.link(source, target, follow_symlinks=False)
        else:
            shutil.copy2(source, target, follow_symlinks=False)

    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, copy_function=copy_file, symlinks=True)
    else:
        copy_file(str(src), str(dst))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class Transaction:
    def __init__(self, scm: Git) -> None:
        self.scm = scm
        self.journal_path = scm.git_dir / JOURNAL
        self.backup = scm.git_dir / BACKUP

    def pending(self) -> bool:
        return self.journal_path.exists()

    def begin(self, paths: list[str]) -> None:
        root = self.scm.root
        _remove(self.backup)
        existed = [p for p in paths if (root / p).exists()]
        linkable = _ignored_files(self.scm, existed)
        for path in existed:
            _save_copy(root, root / path, self.backup / path, linkable)
        index = self.scm.git_dir / "index"
        if index.exists():
            shutil.copy2(index, self.backup.parent / "index.backup")
        self._write(asdict(Journal(self.scm.branch_ref(), self.scm.head(), paths, existed)))

    def will_tag(self, tag: str) -> None:
        """Record a tag before creating it, so a rollback knows to delete it.

        A tag that already exists (fetched from another copy of the repository, say) is refused
        here: once recorded, a rollback would delete it, though this command never made it.
        """
        if tag in self.scm.tags(tag):
            raise InvalidInput(f"tag {tag} already exists, but its version is not in {self.scm.root}: "
                               f"fetch that version, or delete the tag (git tag -d {tag})")
        journal = json.loads(self.journal_path.read_text())
        journal["tags"].append(tag)
        self._write(journal)

    def _write(self, journal: dict) -> None:
        tmp = self.journal_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(journal))
        os.replace(tmp, self.journal_path)

    def finish(self) -> None:
        self.journal_path.unlink()
        _remove(self.backup)
        _remove(self.backup.parent / "index.backup")

    def rollback(self) -> None:
        """Undo a failed or interrupted change; safe to run again if it is itself interrupted."""
        journal = Journal(**json.loads(self.journal_path.read_text()))
        root = self.scm.root
        _clear_git_locks(self.scm.git_dir, journal)
        for tag in journal.tags:
            self.scm.delete_tag(tag)
        if journal.head and self.scm.head() != journal.head:
            self.scm.set_ref(journal.branch_ref, journal.head)
        for path in journal.paths:
            saved = self.backup / path
            if path in journal.existed and not saved.exists():
                continue  # already put back by an earlier, interrupted rollback
            _remove(root / path)
            if path in journal.existed:
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                os.replace(saved, root / path)
        index_backup = self.backup.parent / "index.backup"
        if index_backup.exists():
            os.replace(index_backup, self.scm.git_dir / "index")
        self.finish()


def _clear_git_locks(git_dir: Path, journal: Journal) -> None:
    """Remove the lock files of what the change's git commands write (index, branch, tags).

    A command killed while git was adding or committing leaves them behind, and every later
    ``git add``, commit or tag would fail on them. A git the kill left running finishes in
    moments, so a lock gets that long to go away by itself before it is taken as abandoned.
    """
    refs = ["HEAD", journal.branch_ref, *(f"refs/tags/{tag}" for tag in journal.tags)]
    locks = [git_dir / "index.lock", *(git_dir / f"{ref}.lock" for ref in refs)]
    deadline = time.monotonic() + GIT_LOCK_GRACE
    while any(lock.exists() for lock in locks) and time.monotonic() < deadline:
        time.sleep(0.05)
    for lock in [*locks, *git_dir.glob("next-index-*.lock")]:  # the latter: `git commit --only`'s own index
        lock.unlink(missing_ok=True)


@contextmanager
def transaction(scm: Git, paths: list[str]) -> Iterator[Transaction]:
    txn = Transaction(scm)
    txn.begin(paths)
    try:
        yield txn
    except BaseException:
        txn.rollback()
        raise
    txn.finish()
