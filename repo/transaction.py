"""All-or-nothing changes to a repository.

A command that writes declares the paths it may touch. Before it starts, each
existing path is copied aside as hard links (free, and safe because ipd only
ever replaces files, never rewrites them in place) and a journal is written.
If the command fails, or is killed and a later command finds the journal, the
paths are put back, the branch and index are reset and any new tags deleted:
the repository is exactly as it was. The journal is removed only after the
commit and tags exist, which is the moment the change becomes real.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .gitscm import Git

JOURNAL = "ipd/journal.json"
BACKUP = "ipd/backup"


@dataclass
class Journal:
    branch_ref: str
    head: str | None
    paths: list[str]
    existed: list[str]
    tags: list[str] = field(default_factory=list)


def _link_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, copy_function=os.link, symlinks=True)
    else:
        os.link(src, dst, follow_symlinks=False)


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
        for path in existed:
            _link_copy(root / path, self.backup / path)
        index = self.scm.git_dir / "index"
        if index.exists():
            shutil.copy2(index, self.backup.parent / "index.backup")
        self._write(asdict(Journal(self.scm.branch_ref(), self.scm.head(), paths, existed)))

    def will_tag(self, tag: str) -> None:
        """Record a tag before creating it, so a rollback knows to delete it."""
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
