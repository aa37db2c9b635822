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

from ..backends.git import Commit, Git
from ..errors import InvalidInput, RecoveryNeeded
from . import layout

GIT_LOCK_GRACE = 2.0  # seconds; git holds its locks for milliseconds


@dataclass
class Journal:
    branch_ref: str
    head: str | None
    paths: list[str]
    existed: list[str]
    tags: list[str] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)  # the message of each commit the change set out to make


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
        self.journal_path = scm.git_dir / layout.JOURNAL
        self.backup = scm.git_dir / layout.BACKUP
        self.index_backup = scm.git_dir / layout.INDEX_BACKUP

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
            shutil.copy2(index, self.index_backup)
        self._write(asdict(Journal(self.scm.branch_ref(), self.scm.head(), paths, existed)))
        self.scm.on_commit = self.will_commit

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

    def will_commit(self, message: str) -> None:
        """Record a commit's message before making it, so recovery can tell its commits from anyone else's."""
        journal = json.loads(self.journal_path.read_text())
        journal.setdefault("commits", []).append(_plain(message))
        self._write(journal)

    def _write(self, journal: dict) -> None:
        tmp = self.journal_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(journal))
        os.replace(tmp, self.journal_path)

    def finish(self) -> None:
        self.scm.on_commit = None
        self.journal_path.unlink()
        _remove(self.backup)
        _remove(self.index_backup)

    def journal(self) -> Journal:
        return Journal(**json.loads(self.journal_path.read_text()))

    def rollback(self) -> None:
        """Undo a failed or interrupted change; safe to run again if it is itself interrupted.

        The branch is put back only past the change's own commits. When commits someone else
        made have followed (a curator's ``git commit`` after a kill), nothing is undone and
        ``RecoveryNeeded`` says to run ``ipd recover``: never move a branch past others' work.
        """
        journal = self.journal()
        _clear_git_locks(self.scm.git_dir, journal)
        history = self.history(journal)
        if history.theirs and history.ours:
            raise RecoveryNeeded(history.refusal())
        if history.theirs:
            history.check_apart(journal)  # the change never committed: put back its paths alone
        for tag in journal.tags:
            self.scm.delete_tag(tag)
        if history.ours and journal.head:
            self.scm.set_ref(journal.branch_ref, journal.head)
        self._restore_paths(journal)
        if history.theirs:
            self.scm.reset_index(history.tip, journal.paths)  # keep what their commits staged
        elif self.index_backup.exists():
            os.replace(self.index_backup, self.scm.git_dir / "index")
        self.finish()

    def undo_in_new_commit(self) -> str | None:
        """Undo an interrupted change whose commits others' commits followed: put its paths back as they
        were and commit that on top, so every commit stays in the branch. Returns the new commit."""
        journal = self.journal()
        _clear_git_locks(self.scm.git_dir, journal)
        history = self.history(journal)
        history.check_apart(journal)
        for tag in journal.tags:
            self.scm.delete_tag(tag)
        self._restore_paths(journal)
        self.scm.on_commit = None
        undone = "; ".join(history.messages()) or "an interrupted ipd command"
        commit = None
        if self.scm.has_changes(journal.paths):
            commit = self.scm.commit(journal.paths, f"{UNDO_PREFIX}{undone}")
        self.finish()
        return commit

    def forget(self) -> None:
        """Keep the repository as it is now and drop the journal (a curator's choice, after looking)."""
        self.scm.on_commit = None
        _clear_git_locks(self.scm.git_dir, self.journal())
        self.finish()

    def history(self, journal: Journal) -> History:
        tip = self.scm.resolve(journal.branch_ref)
        if tip is None or tip == journal.head:
            return History(self.scm, tip, [], [])
        if journal.head and not self.scm.is_ancestor(journal.head, tip):
            raise RecoveryNeeded(
                f"an interrupted ipd command started at commit {journal.head[:12]}, which {journal.branch_ref} no "
                f"longer holds (its history was rewritten): nothing was undone; look at `git log`, then run "
                f"`ipd recover --forget` to keep the repository as it is")
        commits = self.scm.commits_between(journal.head, tip)
        messages = [_plain(m) for m in journal.commits]
        ours, theirs = [], []
        for commit in reversed(commits):  # oldest first, as the change made them
            if _plain(commit.message) in messages:
                messages.remove(_plain(commit.message))
                ours.append(commit)
            else:
                theirs.append(commit)
        return History(self.scm, tip, ours, theirs)

    def _restore_paths(self, journal: Journal) -> None:
        root = self.scm.root
        for path in journal.paths:
            saved = self.backup / path
            if path in journal.existed and not saved.exists():
                continue  # already put back by an earlier, interrupted rollback
            _remove(root / path)
            if path in journal.existed:
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                os.replace(saved, root / path)


UNDO_PREFIX = "Undo the interrupted ipd change: "


@dataclass
class History:
    """The commits on the branch since an interrupted change began: its own, and anyone else's."""

    scm: Git
    tip: str | None
    ours: list[Commit]
    theirs: list[Commit]

    def messages(self) -> list[str]:
        return [c.message.splitlines()[0] for c in self.ours]

    def refusal(self) -> str:
        mine = ", ".join(f"{c.sha[:12]} ({c.message.splitlines()[0]!r})" for c in self.ours)
        others = ", ".join(f"{c.sha[:12]} ({c.message.splitlines()[0]!r})" for c in self.theirs)
        return (f"an interrupted ipd command made commit {mine}, and commits it did not make came after it "
                f"({others}): nothing was undone. Run `ipd recover` to undo the interrupted change in a new "
                f"commit on top of yours, or `ipd recover --forget` to keep everything as it is")

    def check_apart(self, journal: Journal) -> None:
        """Refuse when someone else's commit changed what the interrupted change was changing."""
        for commit in self.theirs:
            clash = sorted(p for p in commit.paths if any(_within(p, mine) for mine in journal.paths))
            if clash:
                raise RecoveryNeeded(
                    f"commit {commit.sha[:12]} ({commit.message.splitlines()[0]!r}) changed {clash[0]}, which an "
                    f"interrupted ipd command was changing too: ipd cannot undo one without the other; look at "
                    f"`git log`, then run `ipd recover --forget` to keep the repository as it is")


def _plain(message: str) -> str:
    """A commit message as git keeps it (-m cleans up whitespace), for comparing with the one asked for."""
    return "\n".join(line.rstrip() for line in message.strip().splitlines() if line.strip())


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


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
