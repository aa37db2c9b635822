"""The ``ipd`` command: parse arguments, call the core, render the result.

No logic lives here. This is the one place that catches RepoError: it prints
the message on one line and exits non-zero. Commands live in the modules
named for what they serve: ``versions`` (init, ingest, list, log, show),
``checking`` (suites, checks, validation), ``corrections`` (correct, commit),
``queries``, ``diffing`` (diff), ``requestor`` (pull, status), ``release``,
``catalogue`` (the release zone: audit), ``verifying`` (verify) and ``topics`` (topic, analyse).
"""

from .ipd import app  # noqa: I001 - the app first: the modules below register their commands on it
from . import versions, checking, corrections, queries, diffing, requestor, release, release_plan, release_consent, catalogue, lineage, verifying, topics  # noqa: E402,F401,I001 - registers their commands, in this order

__all__ = ["app", "main"]


def main() -> None:
    app()
