"""Git plumbing through gitpython: the one module that touches git."""

from __future__ import annotations

import getpass
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import git

from ..errors import NotFound, RepoError


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """A failing git command (a refusing hook, a lock) becomes one line: git's own last words."""
    try:
        yield
    except git.GitCommandError as exc:
        said = [line.strip() for line in str(exc.stderr or "").splitlines() if line.strip()]
        reason = said[-1].removeprefix("stderr: ").strip("'") if said else f"exit code {exc.status}"
        raise RepoError(f"{action} failed: {reason}") from exc


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    paths: list[str]  # the files it changed


class Git:
    """A git work tree, with just the operations ipd needs."""

    def __init__(self, root: Path) -> None:
        try:
            self.repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise RepoError(f"{root} is not a git repository") from exc
        self.root = Path(self.repo.working_tree_dir)
        self.on_commit: Callable[[str], None] | None = None  # told each message before its commit is made

    @staticmethod
    def init(root: Path) -> Git:
        if not (root / ".git").exists():
            git.Repo.init(root, initial_branch="main")
        return Git(root)

    @staticmethod
    def init_bare(path: Path) -> None:
        """A bare repository at ``path``: what a git server holds, and what clones push to. No template (sample
        hooks, description): a catalogue carried inside a project's tree holds git's data and nothing else."""
        with _translated(f"git init --bare {path}"):
            git.Repo.init(path, bare=True, initial_branch="main", template="", allow_unsafe_options=True)

    @staticmethod
    def clone(url: str, root: Path) -> Git:
        """A clone of ``url`` (a path or any git URL) at ``root``; an empty repository clones to no commits."""
        with _translated(f"git clone {url}"):
            git.Repo.clone_from(url, root, multi_options=["-q"])
        return Git(root)

    @staticmethod
    def file_at_head(path: Path, file: str) -> bytes | None:
        """``file`` as committed at HEAD of the repository at ``path``, bare or not (None when absent)."""
        try:
            return git.Repo(path).git.show(f"HEAD:{file}", stdout_as_string=False, strip_newline_in_stdout=False)
        except (git.GitCommandError, git.InvalidGitRepositoryError, git.NoSuchPathError):
            return None

    @staticmethod
    def is_repository(url: str) -> bool:
        """Whether ``url`` names a git repository this machine can read (``git ls-remote``)."""
        try:
            git.cmd.Git().ls_remote(url)
            return True
        except git.GitCommandError:
            return False

    def set_identity(self, who: Identity) -> None:
        """Commit as ``who`` in this repository (a scratch clone made for someone)."""
        with self.repo.config_writer() as config:
            config.set_value("user", "name", who.name)
            config.set_value("user", "email", who.email)

    def push(self, branch: str = "main") -> None:
        """Push ``branch`` to ``origin``; refused (one line, git's words) when someone else pushed first."""
        try:
            self.repo.git.push("origin", f"HEAD:refs/heads/{branch}")
        except git.GitCommandError as exc:
            said = [line.strip("' ") for line in str(exc.stderr or "").replace("stderr:", "").splitlines()]
            remote = [line.removeprefix("remote:").strip() for line in said if line.startswith("remote:")]
            rejected = [line.strip("' ") for line in said if line.startswith("!") or "rejected" in line]
            reason = "; ".join(filter(None, [*remote, *rejected])) or (said[-1].strip("' ") if said else "")
            raise RepoError(f"git push failed: {reason or f'exit code {exc.status}'}") from exc

    @property
    def git_dir(self) -> Path:
        return Path(self.repo.git_dir)

    def identity(self) -> Identity:
        """The curator as git knows them; falls back to the login so CI machines work."""
        reader = self.repo.config_reader()
        name = reader.get_value("user", "name", default="") or getpass.getuser()
        email = reader.get_value("user", "email", default="") or f"{getpass.getuser()}@{socket.gethostname()}"
        return Identity(str(name), str(email))

    def head(self) -> str | None:
        try:
            return self.repo.head.commit.hexsha
        except ValueError:
            return None

    def branch_ref(self) -> str:
        return self.repo.head.ref.path if not self.repo.head.is_detached else "HEAD"

    def commit(self, paths: list[str], message: str) -> str:
        """Commit exactly these paths (additions and deletions); anything else the user staged stays staged."""
        if self.on_commit is not None:
            self.on_commit(message)
        who = self.identity()
        env = {"GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email,
               "GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email}
        known = [p for p in paths if (self.root / p).exists() or self.read_ok("HEAD", p)]
        with _translated("git commit"):
            self.repo.git.add("--all", "--", *known)
            self.repo.git.commit("-q", "-m", message, "--only", "--", *known, env=env)
        return self.repo.head.commit.hexsha

    def tag(self, name: str, commit: str, message: str) -> None:
        """An annotated tag, signed (``git tag -s``) when git has a signing key: a forger of a version
        then needs the curator's key as well as write access to the history."""
        who = self.identity()
        with _translated("git tag"):
            self.repo.git.tag("-s" if self.signs() else "-a", name, commit, "-m", message,
                              env={"GIT_COMMITTER_NAME": who.name, "GIT_COMMITTER_EMAIL": who.email})

    def signs(self) -> bool:
        """Whether git is set up to sign (``user.signingkey``, with ``gpg.format`` openpgp or ssh)."""
        return bool(self.repo.config_reader().get_value("user", "signingkey", default=""))

    def tag_signature(self, name: str) -> tuple[str, str]:
        """(``unsigned``, ``good``, ``bad`` or ``unchecked``, and git's word on it) for the tag ``name``."""
        text = self.repo.git.cat_file("tag", f"refs/tags/{name}")
        if "-----BEGIN" not in text:
            return "unsigned", ""
        try:
            self.repo.git.verify_tag(name)
        except git.GitCommandError as exc:
            said = " ".join(str(exc.stderr or "").replace("stderr:", "").split()).strip("' ")
            checkable = "allowedSignersFile" not in said and "No public key" not in said \
                and "cannot run" not in said
            return ("bad" if checkable else "unchecked"), said
        return "good", ""

    def tags(self, prefix: str = "") -> dict[str, str]:
        """Tag name -> the commit it points at."""
        return {t.name: t.commit.hexsha for t in self.repo.tags if t.name.startswith(prefix)}

    def delete_tag(self, name: str) -> None:
        if name in {t.name for t in self.repo.tags}:
            self.repo.delete_tag(name)

    def set_ref(self, ref: str, commit: str) -> None:
        self.repo.git.update_ref(ref, commit)

    def reset_index(self, commit: str, paths: list[str]) -> None:
        self.repo.git.reset("-q", commit, "--", *paths)

    def commit_adding(self, path: str) -> str | None:
        """The commit that first added ``path``: how a version is found without its tag."""
        out = self.repo.git.log("--diff-filter=A", "--format=%H", "--", path)
        lines = out.split()
        return lines[0] if lines else None  # the newest: an addition an undo took back was added again

    def read(self, rev: str, path: str) -> str:
        try:
            return self.repo.git.show(f"{rev}:{path}")
        except git.GitCommandError as exc:
            raise NotFound(f"{path} does not exist at {rev}") from exc

    def has_changes(self, paths: list[str]) -> bool:
        existing = [p for p in paths if (self.root / p).exists() or self.read_ok("HEAD", p)]
        return bool(existing) and bool(self.repo.git.status("--porcelain", "--", *existing).strip())

    def read_ok(self, rev: str, path: str) -> bool:
        try:
            self.repo.git.cat_file("-e", f"{rev}:{path}")
            return True
        except git.GitCommandError:
            return False

    # -- reading history, for ``ipd verify`` ------------------------------------

    def added_in(self, *folders: str) -> dict[str, str]:
        """Path -> the commit that first added it, for every file ever added under ``folders`` (one git call)."""
        if self.head() is None:
            return {}
        out = self.repo.git.log("--diff-filter=A", "--format=commit %H", "--name-only", "--no-renames", "--", *folders)
        added: dict[str, str] = {}
        commit = ""
        for line in out.splitlines():
            if line.startswith("commit "):
                commit = line.split()[1]
            elif line.strip():
                added.setdefault(line.strip(), commit)  # newest first: an addition undone and made again counts once
        return added

    def deleted_in(self, *folders: str) -> dict[str, Commit]:
        """Path -> the newest commit that deleted it, for every file ever deleted under ``folders``."""
        if self.head() is None:
            return {}
        out = self.repo.git.log("--diff-filter=D", "--format=%x00%H%x01%B%x01", "--name-only", "--no-renames",
                                "--", *folders)
        deleted: dict[str, Commit] = {}
        for chunk in out.split("\0")[1:]:
            sha, message, names = chunk.split("\x01")
            for name in (n.strip() for n in names.splitlines()):
                if name:
                    deleted.setdefault(name, Commit(sha, message.strip(), []))
        return deleted

    def resolve(self, ref: str) -> str | None:
        """The commit ``ref`` points at, or None when it does not exist (a branch with no commits yet)."""
        try:
            return self.repo.git.rev_parse("--verify", "-q", f"{ref}^{{commit}}")
        except git.GitCommandError:
            return None

    def commits_between(self, base: str | None, tip: str) -> list[Commit]:
        """The commits in ``tip``'s history that are not in ``base``'s (all of them when ``base`` is None)."""
        span = f"{base}..{tip}" if base else tip
        out = self.repo.git.log("--format=%x00%H%x01%B%x01", "--name-only", "--no-renames", span)
        commits = []
        for chunk in out.split("\0")[1:]:
            sha, message, names = chunk.split("\x01")
            commits.append(Commit(sha, message.strip(), [n for n in names.splitlines() if n.strip()]))
        return commits

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Whether commit ``older`` is ``newer`` or comes before it in its history."""
        try:
            self.repo.git.merge_base("--is-ancestor", older, newer)
            return True
        except git.GitCommandError:
            return False

    def pointer_files(self) -> Iterator[tuple[str, bytes]]:
        """(path, bytes) of every ``.dvc`` file git still keeps, once per distinct content.

        Kept means what ``git gc`` keeps: in any commit reachable from a branch, a tag,
        any other ref, a work tree's HEAD or a reflog entry (a reset can still be undone),
        or staged in an index. A path is the first one git met the content at.
        """
        with _translated("git rev-list"):
            listed = self.repo.git.rev_list("--all", "--reflog", "--indexed-objects", "--objects",
                                            "--filter=object:type=blob", "--filter-provided-objects")
        for line in listed.splitlines():
            sha, _, path = line.partition(" ")
            if path.endswith(".dvc"):
                yield path, self.repo.odb.stream(bytes.fromhex(sha)).read()

    def work_tree_files(self, pattern: str) -> list[str]:
        """Files of the work tree matching ``pattern``, tracked or not (ignored ones left out)."""
        listed = self.repo.git.ls_files("-z", "--cached", "--others", "--exclude-standard", "--", pattern)
        return sorted({name for name in listed.split("\0") if name and (self.root / name).is_file()})

    def remotes(self) -> list[str]:
        """The names of the git remotes: other copies of this history."""
        return sorted(remote.name for remote in self.repo.remotes)

    def blob(self, rev: str, path: str) -> bytes | None:
        """The exact bytes of ``path`` at ``rev`` (None when it is not there)."""
        try:
            return self.repo.git.show(f"{rev}:{path}", stdout_as_string=False, strip_newline_in_stdout=False)
        except git.GitCommandError:
            return None


# -- a whole history, for ``ipd catalogue audit`` -----------------------------------


@dataclass(frozen=True)
class Appearance:
    commit: str
    path: str


class History:
    """A git repository (bare or not, local or cloned from a URL) read as every object it keeps.

    The catalogue's audit must see what a requestor who clones it can see: every blob of
    every commit any ref reaches, including files a later commit removed.
    """

    def __init__(self, repo: git.Repo, label: str, local: bool = False) -> None:
        self.repo, self.label = repo, label
        self.local = local  # read where it is on this machine, not cloned

    @staticmethod
    @contextmanager
    def opened(url: str) -> Iterator[History]:
        """A local path as it is; a URL (``file://`` too) cloned with ``--mirror`` (every ref) into a scratch
        directory."""
        import tempfile

        local = Path(url).expanduser()
        if "://" not in url and local.exists():
            try:
                found = git.Repo(local)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
                raise RepoError(f"{url} is not a git repository") from exc
            yield History(found, url, local=True)
            return
        with tempfile.TemporaryDirectory(prefix="ipd-history-") as scratch:
            with _translated(f"git clone {url}"):
                cloned = git.Repo.clone_from(url, Path(scratch) / "mirror", multi_options=["--mirror", "--quiet"])
            yield History(cloned, url)

    @property
    def work_tree(self) -> Path | None:
        return None if self.repo.bare else Path(self.repo.working_tree_dir)

    @property
    def place(self) -> Path | None:
        """Where the repository is on this machine: its work tree, or a bare repository's own folder (None
        for a clone made to read a URL)."""
        if self.work_tree is not None:
            return self.work_tree
        return Path(self.repo.git_dir) if self.local else None

    def commits(self) -> int:
        with _translated("git rev-list"):
            return len(self.repo.git.rev_list("--all").split())

    def blobs(self) -> list[tuple[str, str]]:
        """(sha, the first path git met it at) of every blob any ref reaches, each once."""
        with _translated("git rev-list"):
            listed = self.repo.git.rev_list("--all", "--objects", "--filter=object:type=blob",
                                            "--filter-provided-objects")
        return [(sha, path) for sha, _, path in (line.partition(" ") for line in listed.splitlines()) if sha]

    def appearances(self) -> dict[str, list[Appearance]]:
        """Blob sha -> the commits that brought it in, and at which path (a root commit's files included;
        a merge's against each parent, so a blob a merge resolution made is not missed)."""
        if not self.repo.git.for_each_ref("--count=1"):
            return {}
        with _translated("git log"):
            out = self.repo.git.log("--all", "--raw", "--no-abbrev", "--root", "-m", "--no-renames",
                                    "--format=commit %H")
        found: dict[str, list[Appearance]] = {}
        commit = ""
        for line in out.splitlines():
            if line.startswith("commit "):
                commit = line.split()[1]
            elif line.startswith(":"):
                fields, _, path = line.partition("\t")
                new = fields.split()[3]
                if set(new) != {"0"}:
                    seen = found.setdefault(new, [])
                    if Appearance(commit, path) not in seen:
                        seen.append(Appearance(commit, path))
        return found

    def read(self, sha: str) -> bytes:
        return self.repo.odb.stream(bytes.fromhex(sha)).read()

    def show(self, rev: str, path: str) -> bytes | None:
        """``path`` at ``rev`` (None when it, or ``rev``, is not there)."""
        try:
            return self.repo.git.show(f"{rev}:{path}", stdout_as_string=False, strip_newline_in_stdout=False)
        except git.GitCommandError:
            return None

    def files(self, rev: str = "HEAD") -> dict[str, str]:
        """Path -> blob sha of every file at ``rev`` (none when it does not exist)."""
        try:
            listed = self.repo.git.ls_tree("-r", rev)
        except git.GitCommandError:
            return {}
        return {path: info.split()[2] for info, _, path in (line.partition("\t") for line in listed.splitlines())
                if info.split()[1] == "blob"}
