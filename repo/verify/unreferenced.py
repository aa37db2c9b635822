"""Objects in the local-directory remotes that no version or release references.

A release pushes its package to the release remote and the linkage to the
restricted remote before git records it. Killed in between, or refused by a
git hook, it is rolled back in the repository, but what it pushed stays in the
remotes with no record naming it; so may a push's partial files. ``ipd
verify`` lists such objects as warnings, and ``ipd verify --prune`` removes them.

An object is referenced when a ``.dvc`` pointer file names it, or names the
``.dir`` listing that holds it: any pointer git still keeps (see
``Git.pointer_files``: every ref, reflog entry and index, so an older version
or another branch counts) or the work tree holds. One set serves both remotes,
so bytes a pointer names are never removed from either. The DVC cache is not
listed: ``dvc gc`` is its tool.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..backends import storage
from ..errors import InvalidInput, StorageError
from ..progress import SILENT, Progress
from ..repository import Repository, layout
from ..repository.remotes import KINDS, remote_name
from ..repository.transaction import Transaction
from .report import Problem, StoredObject, Verification

SUBJECT = "unreferenced objects"


@dataclass(frozen=True)
class Found:
    objects: list[tuple[StoredObject, Path]]  # each with where it is
    unknown: str | None = None  # why what history references is not known (then nothing is listed)


def check(repo: Repository, result: Verification) -> None:
    """List the unreferenced objects on ``result``; a listing that cannot be read is noted, not guessed at."""
    found = find(repo)
    if found.unknown:
        result.not_checked.append(Problem(SUBJECT, f"not listed: {found.unknown}"))
    result.unreferenced = [obj for obj, _ in found.objects]
    if found.objects and Transaction(repo.scm).pending():
        result.not_checked.append(Problem(SUBJECT, "another ipd command is writing to the repository: what it "
                                                   "has pushed is listed until it records it"))


def prune(repo: Repository, force: bool = False, progress: Progress = SILENT) -> list[StoredObject]:
    """Remove the unreferenced objects from the local-directory remotes; returns what was removed.

    Under the repository lock, so no ipd command is pushing meanwhile (one killed
    part-way is rolled back first, and what it pushed is then unreferenced). A git
    remote means other copies of this history, which may have pushed objects for
    commits this one lacks into the same DVC remotes: refused unless ``force``.
    """
    if (others := repo.scm.remotes()) and not force:
        raise InvalidInput(f"{repo.root} has git remotes ({', '.join(others)}): another copy may have pushed "
                           "objects for commits this one lacks, and --prune would remove them; fetch every "
                           "copy's branches and tags here first, then prune with --force")
    in_tree = _remotes_in_tree(repo)
    with repo.writing(in_tree):
        found = find(repo)
        if found.unknown:
            raise StorageError(f"cannot prune: what history references is not known ({found.unknown})")
        with progress.step("removing unreferenced objects", total=len(found.objects)) as advance:
            for obj, path in found.objects:
                _remove(obj, path)
                advance(1)
        if changed := [path for path in in_tree if repo.scm.has_changes([path])]:  # git tracked what went
            repo.scm.commit(changed, f"Pruned {len(found.objects)} object(s) no version or release references "
                                     "from the remotes in the work tree")
    return [obj for obj, _ in found.objects]


def find(repo: Repository) -> Found:
    """Every object of a local-directory remote that no pointer names, by remote and name."""
    remotes = local_remotes(repo)
    if not remotes:
        return Found([])
    named, unknown = referenced(repo, [repo.root / layout.DVC_CACHE, *remotes.values()])
    if unknown:
        return Found([], unknown)
    objects = []
    for kind, directory in remotes.items():
        for name, path in storage.stored_objects(directory):
            if name not in named and (size := _size(path)) is not None:
                objects.append((StoredObject(kind, f"md5/{name[:2]}/{name[2:]}", size), path))
    return Found(objects)


def local_remotes(repo: Repository) -> dict[str, Path]:
    """Kind -> directory of each local-directory remote there is (one directory serving both is listed once)."""
    found: dict[str, Path] = {}
    for kind in KINDS:
        path = storage.remote_directory(repo.root, remote_name(repo, kind))
        if path is not None and path.is_dir() and path.resolve() not in {p.resolve() for p in found.values()}:
            found[kind] = path
    return found


def referenced(repo: Repository, stores: list[Path]) -> tuple[set[str], str | None]:
    """The objects the pointers name, with the files of the listings among them (read from ``stores``);
    and, if a listing is in none of them, which (what it holds is then unknown)."""
    named: dict[str, str] = {}  # object -> a pointer file naming it
    for path, text in _pointers(repo):
        try:
            md5s = storage.pointer_md5s(text.decode("utf-8", errors="replace"))
        except ValueError:
            continue  # not a pointer: it names nothing
        for md5 in md5s:
            named.setdefault(md5, path)
    objects = set(named)
    for md5, pointer in sorted(named.items()):
        if md5.endswith(".dir"):
            listing = _listing(md5, stores)
            if listing is None:
                return objects, (f"the listing {md5} that {pointer} names is in neither the DVC cache "
                                 "nor a local remote")
            objects.update(listing.values())
    return objects, None


def _pointers(repo: Repository) -> Iterator[tuple[str, bytes]]:
    """The pointers git keeps, then the work tree's (which a curator may have changed)."""
    yield from repo.scm.pointer_files()
    for name in repo.scm.work_tree_files("*.dvc"):
        try:
            text = (repo.root / name).read_bytes()
        except FileNotFoundError:
            continue  # removed since git listed it
        yield name, text


def _listing(md5: str, stores: list[Path]) -> dict[str, str] | None:
    for store in stores:
        path = storage.object_path(store, md5)
        if path.is_file():
            try:
                return storage.read_listing(path)
            except (ValueError, OSError):
                continue  # a damaged copy: another may be sound
    return None


def _size(path: Path) -> int | None:
    """None when the file went meanwhile (a prune in another process: a plain verify takes no lock)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _remotes_in_tree(repo: Repository) -> list[str]:
    """Remotes inside the work tree (the example repository's): git tracks their objects."""
    paths = (storage.remote_path_in_tree(repo.root, remote_name(repo, kind)) for kind in KINDS)
    return sorted({p for p in paths if p})


def _remove(obj: StoredObject, path: Path) -> None:
    try:
        path.unlink()
    except OSError as exc:
        raise StorageError(f"cannot remove {obj.object} from the {obj.remote} remote: {exc.strerror}") from exc
    try:
        path.parent.rmdir()  # DVC makes the folder again when it needs it
    except OSError:
        pass  # not empty
