"""The errors a user can see.

Every failure the user can do something about is a ``RepoError``; the CLI is
the one place that catches it, prints its message on one line and exits
non-zero. Errors of git, DVC, DuckDB and the file readers are translated into
these where those libraries are called, so no foreign traceback escapes.
"""

from __future__ import annotations


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


class IntegrityError(RepoError):
    """Data that do not match their recorded fingerprint or hash."""

    exit_code = 1
