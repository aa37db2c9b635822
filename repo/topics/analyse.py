"""``ipd analyse``: a meta-analysis of one pinned pooled version, reproducible from what it records.

The rows are the pooled version's (its fingerprint is checked when its parts
are read); the result names that version and every trial version it pooled,
so the same command on the same repository gives the same answer. ``--compare
vM`` runs the same analysis on an earlier pooled version: what the corrections
between them did to the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..repository.refs import Ref, version_number
from .build import is_topic, read_dictionary

if TYPE_CHECKING:
    from ..repository import Repository
    from ..repository.records import Version
    from .meta import Analysis


@dataclass(frozen=True)
class AnalysisRequest:
    ref: str  # TOPIC[@vN]
    treatment: str
    active: str
    outcome: str  # TIME,STATUS or STATUS
    compare: str | None = None  # vM
    one_stage: bool = False


@dataclass(frozen=True)
class Done:
    topic: str
    version: str
    analysis: Analysis
    earlier: Done | None = None
    plot: Path | None = None

    def to_json(self) -> dict[str, Any]:
        found = {"topic": self.topic, "version": self.version, **self.analysis.to_json()}
        if self.earlier is not None:
            found["compare"] = self.earlier.to_json()
        return found


def run(repo: Repository, request: AnalysisRequest, plot: Path | None = None) -> Done:
    ref = Ref.parse(request.ref)
    if not is_topic(repo, ref.trial):
        raise InvalidInput(f"{ref.trial} is not a topic: `ipd analyse` meta-analyses a topic's pooled versions")
    dataset = repo.dataset(ref.trial)
    version = dataset.version(ref.version)
    done = _analysed(repo, version, request)
    if request.compare is not None:
        version_number(request.compare)
        if request.compare == version.record.version:
            raise InvalidInput(f"--compare {request.compare}: that is the version analysed; name an earlier one")
        done = Done(done.topic, done.version, done.analysis, _analysed(repo, dataset.version(request.compare), request))
    if plot is not None:
        from .forest import forest_png

        earlier = done.earlier
        forest_png(done.analysis, plot, f"{done.topic}@{done.version}", earlier.analysis if earlier else None,
                   (done.version, earlier.version if earlier else ""))
        done = Done(done.topic, done.version, done.analysis, done.earlier, plot)
    return done


def _analysed(repo: Repository, version: Version, request: AnalysisRequest) -> Done:
    from .meta import analyse

    topic = version.record.trial
    dictionary = read_dictionary(repo, topic)
    time, status = _outcome(request.outcome)
    for name, what in ((request.treatment, "--treatment"), (time, "--outcome"), (status, "--outcome")):
        if name is not None and name not in version.record.columns:
            raise InvalidInput(f"{what} {name}: not a variable of {topic}@{version.record.version} "
                               f"({', '.join(dictionary.names)})")
    rows = version.to_arrow().to_pandas()
    versions = {s["trial"]: s["version"] for s in version.record.sources}
    analysis = analyse(rows, request.treatment, request.active, time, status, versions=versions, one_stage=request.one_stage)
    return Done(topic, version.record.version, analysis)


def _outcome(text: str) -> tuple[str | None, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1 and parts[0]:
        return None, parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise InvalidInput(f"--outcome {text!r}: give TIME,STATUS (time to event) or STATUS (a binary outcome)")

