"""Check reports kept per version, so a version is checked once.

A version never changes, so its report is a pure function of the version's
data (its fingerprint and column order), the suite, what ``dataset.yaml`` says
the checks read (key, roles, design), the repository's thresholds, and the
code that checks. Those go into a SHA-256; the report is kept as
``.git/ipd/checks/<digest>.json``: local to the clone, never committed. A file
that cannot be read back is ignored and the version is checked again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..repository import Repository, layout
from .results import CheckReport

if TYPE_CHECKING:
    from ..repository.records import VersionRecord


def key(repo: Repository, record: VersionRecord, suite: dict[str, Any], metadata: dict[str, Any]) -> str:
    """The digest of everything the report of ``record``'s version depends on."""
    inputs = {
        "trial": record.trial, "version": record.version, "fingerprint": record.fingerprint,
        "key": record.key, "columns": record.columns, "suite": suite,
        "metadata": {name: metadata.get(name) for name in ("key", "roles", "design")},
        "thresholds": repo.settings.get("thresholds", {}), "ipd": __version__, "code": _code(),
    }
    if record.tables:  # a trial of several tables: theirs too
        inputs["tables"] = [[t.name, t.fingerprint, t.key, _table_suite(repo, record.trial, t.name)]
                            for t in record.tables]
        inputs["metadata"]["tables"] = metadata.get("tables")
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _table_suite(repo: Repository, trial: str, table: str) -> str | None:
    path = repo.root / layout.trial(trial).table_suite(table)
    return path.read_text() if path.exists() else None


@cache
def _code() -> str:
    """A digest of the checking code: a development copy keeps its version number while its checks change."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    backends = here.parent / "backends"
    for path in sorted([*here.glob("*.py"), backends / "columns.py", backends / "csvsafe.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def path(repo: Repository, digest: str) -> Path:
    return repo.scm.git_dir / layout.CHECK_CACHE / f"{digest}.json"


def load(repo: Repository, digest: str) -> CheckReport | None:
    """The kept report, or None when there is none or it cannot be read back."""

    try:
        return CheckReport.from_json(json.loads(path(repo, digest).read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store(repo: Repository, digest: str, report: CheckReport) -> CheckReport:
    """Keep ``report`` (written whole or not at all) and return it as it reads back from the file.

    Returning the read-back copy makes a fresh report and a kept one the same
    objects (dates as ISO text, tuples as lists), as they are the same JSON.
    Failing to write is no error: the report is only not kept.
    """

    text = json.dumps(report.to_json(), ensure_ascii=False, default=str)
    target = path(repo, digest)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{digest[:12]}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass
    return CheckReport.from_json(json.loads(text))
