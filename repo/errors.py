"""The errors a user can see.

Every failure the user can do something about is a ``RepoError``; the CLI is
the one place that catches it, prints its message on one line and exits
non-zero. Errors of git, DVC, DuckDB and the file readers are translated into
these where those libraries are called, so no foreign traceback escapes.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable


class RepoError(Exception):
    """A problem the user can fix; the message says what is wrong and where."""

    exit_code = 2


class NotARepository(RepoError):
    """The path is not (inside) an ipd repository."""


class NotFound(RepoError):
    """A trial, version or file that does not exist."""


class InvalidInput(RepoError):
    """A delivery, name or argument that cannot be used as given."""


class RepositoryBusy(RepoError):
    """Another ipd command holds the repository's lock."""


class RecoveryNeeded(RepoError):
    """An interrupted command cannot be undone by itself: commits it did not make were added on top."""


class StorageError(RepoError):
    """The DVC cache or a remote could not be read or written."""


class QueryError(RepoError):
    """DuckDB refused a query over the user's data: a value that does not convert, a file it cannot read."""


class IntegrityError(RepoError):
    """Data that do not match their recorded fingerprint or hash."""

    exit_code = 1


def disk_full(errors: Iterable[BaseException | None]) -> str | None:
    """``"no space left on device: MOUNT is full"`` when any of ``errors`` (or what caused them) is
    ENOSPC, naming the file system that is full; None otherwise. A full disk is the user's to fix,
    so it is said as such, not as an internal error or a page of failed transfers."""
    for error in errors:
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if isinstance(error, OSError) and error.errno == errno.ENOSPC:
                path = error.filename2 or error.filename
                return f"no space left on device: {_mount(str(path))} is full" if path else \
                    "no space left on device"
            error = error.__cause__ or error.__context__
    return None


def _mount(path: str) -> str:
    """The mount point holding ``path``: what is full is the file system, not the one file."""
    place = os.path.abspath(path)
    while not os.path.ismount(place) and os.path.dirname(place) != place:
        place = os.path.dirname(place)
    return place
