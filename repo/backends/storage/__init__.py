"""DVC plumbing: this package is the one that touches DVC and its libraries (``known`` stores parts
whose hashes ipd already knows through DVC's object library).

DVC stores the bytes (sources and Parquet parts), content-addressed by md5, in
the repository's cache and its remotes; git holds the small ``.dvc`` pointer
files. There are two remotes: ``restricted`` (deliveries, versions, the
release-ID linkage) and ``release`` (de-identified release packages only), and
every push names the one it goes to. DVC is imported inside these functions: it costs a noticeable fraction
of a second, and commands that only read metadata never need it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

from ...errors import RepoError, StorageError, disk_full

RESTRICTED_REMOTE = "restricted"
RELEASE_REMOTE = "release"  # de-identified releases only: can be granted to requestors on its own
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


def short_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


DVC_LOGGERS = ("dvc", "dvc_data", "dvc_objects")


class _Said(logging.Handler):
    """What DVC's loggers would have printed, kept for the one-line error instead."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def errors(self) -> list[BaseException | None]:
        return [r.exc_info[1] for r in self.records if r.exc_info]


@contextlib.contextmanager
def _quiet() -> Iterator[_Said]:
    """DVC talks to the terminal (a failed push logs a line per file); ipd's core never does."""
    said = _Said()
    saved = []
    for name in DVC_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.level, logger.propagate))
        logger.handlers[:] = [said]
        logger.setLevel(logging.ERROR)
        logger.propagate = False
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield said
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


@contextlib.contextmanager
def _dvc(root: Path, action: str) -> Iterator[object]:
    """Open DVC quietly at ``root`` and turn its errors into one-line StorageErrors."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    with _quiet() as said:
        try:
            with Repo(str(root)) as repo:
                yield repo
        except (DvcException, OSError) as exc:
            full = disk_full([exc, *said.errors()])
            raise StorageError(f"{action} failed: {full or _one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if exc.__cause__ and str(exc.__cause__).strip():
        text = f"{text} ({str(exc.__cause__).strip()})"
    return " ".join(text.split())


def is_local(url: str) -> bool:
    scheme = urlparse(url).scheme
    if scheme == "" and SCP_LIKE.match(url):
        return False  # git's scp-like syntax, user@host:path: a colon before any slash
    return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter is not a scheme


SCP_LIKE = re.compile(r"^[^/:]{2,}:")


def init(root: Path, url: str, release_url: str | None = None) -> None:
    """Initialise DVC in ``root`` (if needed) and point the restricted (and release) remotes at their URLs."""
    from dvc.repo import Repo

    if not (root / ".dvc").is_dir():
        with _quiet():
            Repo.init(str(root))
    remotes = {RESTRICTED_REMOTE: url, **({RELEASE_REMOTE: release_url} if release_url else {})}
    with _dvc(root, "configuring the DVC remote") as repo:
        with repo.config.edit() as conf:
            conf["core"]["analytics"] = False
            conf["core"]["remote"] = RESTRICTED_REMOTE
            for name, where in remotes.items():
                conf["remote"][name] = {"url": _stored_url(root, where)}


def set_remote(root: Path, name: str, url: str) -> None:
    """Point the DVC remote ``name`` at ``url`` (added if the repository has none of that name)."""
    stored = _stored_url(root, url)
    with _dvc(root, f"configuring the DVC remote {name}") as repo:
        with repo.config.edit() as conf:
            conf["remote"][name] = {"url": stored}


def beside(url: str) -> str:
    """The default release remote: a directory (or prefix) next to the restricted remote."""
    return url.rstrip("/") + "-release"


def _stored_url(root: Path, url: str) -> str:
    """A local remote made to exist and written as DVC should store it; any other URL as given."""
    if not is_local(url):
        return url
    path = Path(urlparse(url).path if url.startswith("file:") else url).expanduser()
    path = (Path.cwd() / path).resolve() if not path.is_absolute() else path
    path.mkdir(parents=True, exist_ok=True)
    # A remote inside the work tree travels with git, so it must be stored relative
    # to .dvc/; DVC writes a relative path that way when given one relative to the cwd.
    if path.is_relative_to(root):
        _ignore_in_dvc(root, os.path.relpath(path, root))
        return os.path.relpath(path, Path.cwd())
    return str(path)


def _ignore_in_dvc(root: Path, relative: str) -> None:
    ignore = root / ".dvcignore"
    lines = ignore.read_text().splitlines() if ignore.exists() else []
    if f"/{relative}" not in lines:
        ignore.write_text("\n".join([*lines, f"/{relative}"]) + "\n")


def remote_url(root: Path, name: str = RESTRICTED_REMOTE) -> str:
    with _dvc(root, "reading the DVC config") as repo:
        return repo.config["remote"].get(name, {}).get("url", "")


def configured_url(root: Path, name: str = RESTRICTED_REMOTE) -> str:
    """A remote's URL from the repository's own DVC config files, read as INI.

    Opening DVC only to read its config costs a quarter of a second; the local file
    (``config.local``) overrides the committed one, as in DVC.
    """
    import configparser

    for file in ("config.local", "config"):
        config = configparser.ConfigParser()
        config.read(root / ".dvc" / file)
        url = config.get(f"'remote \"{name}\"'", "url", fallback="")
        if url:
            return url
    return ""


def remote_path_in_tree(root: Path, name: str = RESTRICTED_REMOTE) -> str | None:
    """The remote's path relative to the work tree when it lives inside it (then git carries it)."""
    url = configured_url(root, name)
    if not url or not is_local(url) or Path(url).is_absolute():
        return None
    path = (root / ".dvc" / url).resolve()
    return os.path.relpath(path, root) if path.is_relative_to(root) else None


def remote_directory(root: Path, name: str = RESTRICTED_REMOTE) -> Path | None:
    """The absolute path of a local-directory remote (None for any other kind, or none configured).

    DVC resolves a relative remote URL against the ``.dvc`` directory; read at a
    past revision, against the git tree rather than the disk, so readers of a
    local source pass this path to DVC instead.
    """
    return local_remote_path(root, configured_url(root, name))


def local_remote_path(place: Path, url: str) -> Path | None:
    """The absolute path of the local-directory remote ``url`` names in the DVC config of the repository at
    ``place`` (its work tree, or a bare repository's folder standing in for one): a relative URL is relative
    to ``place/.dvc``, as DVC reads it. None for a remote of any other kind, or none."""
    if not url or not is_local(url):
        return None
    path = Path(urlparse(url).path if url.startswith("file:") else url).expanduser()
    return path if path.is_absolute() else (place / ".dvc" / path).resolve()


def _bare_remote_directory(root: Path, name: str) -> Path | None:
    """A local-directory remote named relative to a bare repository on this machine (a catalogue a project
    carries beside its release remote): resolved as DVC would in a work tree at the repository's place."""
    import configparser

    from ..git import Git

    text = Git.file_at_head(root, ".dvc/config")
    if text is None:
        return None
    config = configparser.ConfigParser()
    config.read_string(text.decode("utf-8", "replace"))
    url = config.get(f"'remote \"{name}\"'", "url", fallback="")
    if url.startswith("file:") or Path(url).is_absolute():
        return None  # DVC reads an absolute one as it is
    return local_remote_path(root, url)


def _absolute(root: Path, paths: list[str]) -> list[str]:
    """DVC resolves relative targets against the cwd, which need not be the repository."""
    return [str(root / p) for p in paths]


def add(root: Path, paths: list[str]) -> None:
    with _dvc(root, "storing data in the DVC cache") as repo:
        repo.add(_absolute(root, paths), relink=False)


def store(root: Path, targets: list[str], check: Callable[[], None] = lambda: None,
          remote: str = RESTRICTED_REMOTE) -> None:
    """``add`` then ``push``, with DVC opened once; ``check`` runs between them (it may refuse,
    and then nothing has left the machine).

    DVC is told not to "relink" the work tree after adding: while a command runs, its
    transaction holds hard links to the files it may replace, which DVC would take for
    links of its own and copy every file of the directory back from the cache.
    """
    url = check_remote(root, remote)
    with _dvc(root, f"storing data and pushing it to the DVC remote {url}") as repo:
        repo.add(_absolute(root, targets), relink=False)
        check()
        repo.push(targets=_absolute(root, targets), remote=remote)


def materialize(root: Path, targets: list[str], replace: bool = False, remote: str = RESTRICTED_REMOTE) -> None:
    """Check out ``targets`` (DVC-tracked directories) from their ``.dvc`` files where the work tree lacks them.

    A fresh clone has none of them; a command that rewrites some files of a directory
    and stores it again must start from all of them, or DVC would store the directory
    without the rest. Objects missing from the cache come from ``remote`` (a release
    package is on the release remote only). A directory that is there is left alone (a
    curator may have put files in it, which DVC's checkout would delete), unless
    ``replace`` says ipd owns it and found it stale.
    """
    present = [t for t in targets if (root / f"{t}.dvc").is_file() and (replace or not (root / t).exists())]
    if not present:
        return
    with _dvc(root, "checking out data from the DVC cache and remote") as repo:
        repo.pull(targets=_absolute(root, present), remote=remote, force=True)


def pointer_md5(text: str) -> str:
    """The MD5 (of a directory: ``….dir``) a ``.dvc`` pointer file names; ValueError if it names none."""
    import yaml

    try:
        return str(yaml.safe_load(text)["outs"][0]["md5"])
    except (KeyError, IndexError, TypeError, yaml.YAMLError) as exc:
        raise ValueError(f"not a DVC pointer file ({_one_line(exc)})") from exc


def pointer_md5s(text: str) -> list[str]:
    """Every MD5 a ``.dvc`` pointer file names, one per output; ValueError if it names none."""
    import yaml

    try:
        md5s = [str(out["md5"]) for out in yaml.safe_load(text)["outs"] if "md5" in out]
    except (KeyError, TypeError, yaml.YAMLError) as exc:
        raise ValueError(f"not a DVC pointer file ({_one_line(exc)})") from exc
    if not md5s:
        raise ValueError("not a DVC pointer file (no output has an MD5)")
    return md5s


def read_listing(path: Path) -> dict[str, str]:
    """Relative path -> MD5 of each file in a directory's ``.dir`` object at ``path``; ValueError if malformed."""
    import json

    try:
        return {entry["relpath"]: entry["md5"] for entry in json.loads(path.read_text())}
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a DVC directory listing ({_one_line(exc)})") from exc


def file_pointer(name: str, md5: str, size: int) -> str:
    """The ``.dvc`` file ``dvc add`` writes for one file whose MD5 is known (DVC 3: plain MD5 of the bytes)."""
    return f"outs:\n- md5: {md5}\n  size: {size}\n  hash: md5\n  path: {name}\n"


def directory_listing(root: Path, target: str) -> dict[str, str]:
    """File name -> MD5 of the DVC-tracked directory ``target`` as DVC last stored it (its ``.dir`` object)."""
    try:
        return read_listing(cache_path(root, pointer_md5((root / f"{target}.dvc").read_text())))
    except (OSError, ValueError) as exc:
        raise StorageError(f"{target}.dvc: cannot read what DVC stored ({_one_line(exc)})") from exc


def check_remote(root: Path, name: str = RESTRICTED_REMOTE) -> str:
    """Fail early, before anything is written, when a local remote is not there; returns its URL."""
    url = configured_url(root, name) or remote_url(root, name)
    if not url and name != RESTRICTED_REMOTE:
        raise StorageError(f"{root} has no release remote: add one with `ipd remote release URL` "
                           "(a directory or any DVC URL, separate from the restricted remote)")
    if is_local(url):
        path = root / ".dvc" / urlparse(url).path if url.startswith("file:") else root / ".dvc" / url
        if not path.exists():
            raise StorageError(f"the DVC remote {url} cannot be reached (no such directory)")
        if not path.is_dir():
            raise StorageError(f"the DVC remote {url} is not a directory")
    return url


def push(root: Path, targets: list[str], remote: str = RESTRICTED_REMOTE) -> None:
    """Push ``targets`` to the one remote named: restricted data and releases never share a push."""
    url = check_remote(root, remote)
    with _dvc(root, f"pushing to the DVC remote {url}") as repo:
        repo.push(targets=_absolute(root, targets), remote=remote)


def object_path(store: Path, md5: str) -> Path:
    """Where DVC keeps the object ``md5`` in a cache or a local-directory remote ``store``."""
    return store / "files" / "md5" / md5[:2] / md5[2:]


def stored_objects(store: Path) -> Iterator[tuple[str, Path]]:
    """(name, path) of every file under a cache's or local remote's ``files/md5/``, the name as
    ``object_path`` takes it (``ab`` + the rest). A push killed part-way leaves its partial
    files there too (``.TOKEN.tmp``), which are never an object's name."""
    for folder in _entries(store / "files" / "md5"):
        for path in _entries(folder):
            if path.is_file():
                yield folder.name + path.name, path


def _entries(folder: Path) -> list[Path]:
    """A folder's entries, sorted; none when it is not there (a prune may have removed it meanwhile)."""
    try:
        return sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def cache_path(root: Path, md5: str) -> Path:
    return object_path(root / ".dvc" / "cache", md5)


def fetch(root: Path, md5s: list[str]) -> None:
    """Copy the objects with these MD5s from the remote into the cache, where they are missing.

    Objects are fetched by hash rather than through ``dvc fetch --rev``: at an old
    revision DVC resolves a remote path relative to the git tree, not the work tree.
    """
    with _dvc(root, "fetching from the DVC remote") as repo:
        remote = repo.cloud.get_remote(RESTRICTED_REMOTE)
        for md5 in md5s:
            target = cache_path(root, md5)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            try:
                remote.fs.get_file(remote.odb.oid_to_path(md5), str(partial))
            except FileNotFoundError:
                continue  # the caller names what is missing
            os.replace(partial, target)


class RemoteRepository:
    """A repository at a path or git URL, as of one revision, read through git and its DVC remote."""

    def __init__(self, url: str, rev: str | None, remote: str | None = None) -> None:
        self.url, self.rev, self.remote = url, rev, remote  # remote: the DVC remote to read data from
        self.remote_config = self._local_remote(url, remote)
        self._fs = None

    @staticmethod
    def _local_remote(url: str, remote: str | None) -> dict[str, str] | None:
        """A named local-directory remote of a repository on this machine, as an absolute path (see
        ``remote_directory``); None leaves DVC to its own config."""
        if remote is None or not is_local(url):
            return None
        root = Path(url.removeprefix("file://")).expanduser()
        if (root / ".dvc").is_dir():
            path = remote_directory(root, remote)
        else:
            path = _bare_remote_directory(root, remote)
        return {"url": str(path)} if path else None

    def __enter__(self) -> RemoteRepository:
        from dvc.api import DVCFileSystem

        with self._translated("open"):
            self._fs = DVCFileSystem(_openable(self.url), rev=self.rev, remote=self.remote,
                                     remote_config=self.remote_config)
            self._fs.ls("", detail=False)  # clone now, so a bad URL fails here
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fs is not None:
            self._fs.close() if hasattr(self._fs, "close") else None

    @contextlib.contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        from dvc.exceptions import DvcException
        from dvc.scm import SCMError
        from dvc_data.index import (
            DataIndexDirError,  # raised when the remote lacks a directory
        )

        try:
            with _quiet():
                yield
        except (DvcException, SCMError, DataIndexDirError, OSError) as exc:
            at = f" at {self.rev}" if self.rev else ""
            raise StorageError(f"could not {what} {self.url}{at}: {_one_line(exc)}") from exc

    def exists(self, path: str) -> bool:
        with self._translated(f"read {path} from"):
            return self._fs.exists(path)

    def listdir(self, path: str) -> list[str]:
        with self._translated(f"list {path} in"):
            return [entry.rsplit("/", 1)[-1] for entry in self._fs.ls(path, detail=False)]

    def read_text(self, path: str) -> str:
        with self._translated(f"read {path} from"):
            return self._fs.read_text(path)

    def get(self, path: str, out: Path) -> None:
        with self._translated(f"fetch {path} from"):
            self._fs.get(path, str(out), recursive=True)


def _openable(url: str) -> str:
    """The URL DVC should open: it opens a local path in place, so a bare repository inside another
    repository's work tree (a catalogue a project carries) would read as a folder of that tree; it is
    cloned from its ``file://`` URL instead."""
    if is_local(url) and not url.startswith("file:"):
        path = Path(url).expanduser()
        if (path / "HEAD").is_file() and (path / "objects").is_dir():
            return path.resolve().as_uri()
    return url


def stored_directory(root: Path, pointer_text: str, label: str) -> dict[str, Path]:
    """Relative path -> cache file of each file of the DVC-tracked directory a ``.dvc`` file names,
    fetched into the cache where missing (the listing first, then the files)."""
    try:
        md5 = pointer_md5(pointer_text)
    except ValueError as exc:
        raise RepoError(f"{label}.dvc is not a DVC pointer file") from exc
    if not cache_path(root, md5).exists():
        fetch(root, [md5])
    if not cache_path(root, md5).exists():
        raise RepoError(f"the listing of {label} ({md5}) is in neither the DVC cache nor the remote")
    listing = read_listing(cache_path(root, md5))
    fetch(root, [m for m in listing.values() if not cache_path(root, m).exists()])
    return {relpath: cache_path(root, m) for relpath, m in listing.items()
            if cache_path(root, m).exists()}


PRIVATE_FILE, PRIVATE_FOLDER, PRIVATE_OBJECT = 0o600, 0o700, 0o400


def make_private(root: Path, target: str, remote: str = RESTRICTED_REMOTE) -> None:
    """Only the owner may read the DVC-tracked folder ``target`` (deliveries, consent lists, the linkage
    and its date-shift key) wherever ipd keeps it: files 0600 and folders 0700 in the work tree, objects
    0400 in the DVC cache (DVC keeps them read-only) and 0600 in a local-directory remote, their folders
    0700. DVC writes with the umask (0644, 0444 in stores), which lets every local user read them."""
    for folder, _, names in os.walk(root / target):
        os.chmod(folder, PRIVATE_FOLDER)
        for name in names:
            os.chmod(os.path.join(folder, name), PRIVATE_FILE)
    md5s = [pointer_md5((root / f"{target}.dvc").read_text()), *directory_listing(root, target).values()]
    stores = [(root / ".dvc" / "cache", PRIVATE_OBJECT)]
    if (directory := remote_directory(root, remote)) is not None:
        stores.append((directory, PRIVATE_FILE))
    for store, mode in stores:
        for md5 in md5s:
            path = object_path(store, md5)
            if path.exists():
                os.chmod(path.parent, PRIVATE_FOLDER)
                os.chmod(path, mode)
