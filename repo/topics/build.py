"""Topics: trials on one question, harmonised to one dictionary, pooled into versions of their own.

A topic is kept as a dataset (``datasets/TOPIC/``) whose versions are pooled:
``ipd topic build`` maps every trial's version through its mapping, stacks the
rows (``trial`` and ``pooled_id`` first) and cuts them as the topic's next
version, by the very path a delivery takes (parts, fingerprint, dictionary,
checks, tag), with the suite the topic's dictionary gives and a version record
and PROV record naming each trial version and mapping (by hash) it came from.
So ``ipd log``, ``show``, ``check``, ``diff``, ``pull``, ``lineage`` and
``verify --rebuild`` work on pooled versions as on a trial's.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound
from ..progress import SILENT, Progress
from ..repository import layout
from ..repository.refs import Ref, check_trial_name
from . import dictionary as topic_dictionary
from . import mapping as topic_mapping
from .dictionary import POOLED_ID, TopicDictionary

if TYPE_CHECKING:
    import pyarrow as pa

    from ..repository import Repository
    from ..repository.records import Version, VersionRecord

POOLED_FILE = "pooled.parquet"  # the name a pooled version's rows are kept under in source/vN/


@dataclass(frozen=True)
class Mapped:
    topic: str
    trial: str
    version: str
    rows: int
    commit: str | None  # None: the mapping was already there, unchanged


def topics(repo: Repository) -> list[str]:
    return sorted(p.parent.name for p in repo.root.glob(layout.trial("*").topic))


def is_topic(repo: Repository, name: str) -> bool:
    return (repo.root / layout.trial(name).topic).is_file()


def read_dictionary(repo: Repository, topic: str) -> TopicDictionary:
    check_trial_name(topic)
    relative = layout.trial(topic).topic
    if not (repo.root / relative).is_file():
        raise NotFound(f"no topic {topic!r} in {repo.root} (`ipd topic init {topic} --dictionary FILE`)")
    return topic_dictionary.load(repo.root / relative, relative)


def init(repo: Repository, topic: str, dictionary: Path) -> str:
    """Start a topic with its data dictionary (checked first); one commit."""
    check_trial_name(topic)
    paths = layout.trial(topic)
    if (repo.root / paths.folder).exists():
        what = "topic" if is_topic(repo, topic) else "trial"
        raise InvalidInput(f"{topic!r} is already a {what} in {repo.root}: choose another name")
    topic_dictionary.load(dictionary)
    text = dictionary.read_text(encoding="utf-8")
    with repo.writing([paths.folder]):
        target = repo.root / paths.topic
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return repo.scm.commit([paths.topic], f"Topic {topic}: its data dictionary")


def map_trial(repo: Repository, topic: str, ref: Ref, file: Path) -> Mapped:
    """Check how ``ref``'s trial maps onto the topic against its rows, and keep the mapping, pinned to the version."""
    found = read_dictionary(repo, topic)
    if is_topic(repo, ref.trial):
        raise InvalidInput(f"{ref.trial} is a topic: map trials onto a topic, not topics")
    version = repo.dataset(ref.trial).version(ref.version)
    given = topic_mapping.load(file)
    if given.trial and given.trial != ref.trial:
        raise InvalidInput(f"{file}: the mapping is of {given.trial}, not {ref.trial}")
    mapping = topic_mapping.Mapping(ref.trial, version.record.version, given.variables, given.values, given.where,
                                    given.table, given.published)
    rows = pooled(mapping, found, version, str(file))
    relative = layout.trial(topic).mapping(ref.trial)
    with repo.writing([relative]):
        target = repo.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(mapping.to_yaml(), encoding="utf-8")
        commit = repo.scm.commit([relative], f"Topic {topic}: {ref.trial}@{version.record.version} mapped "
                                             f"({rows.num_rows} rows)") if repo.scm.has_changes([relative]) else None
    return Mapped(topic, ref.trial, version.record.version, rows.num_rows, commit)


def mappings(repo: Repository, topic: str) -> dict[str, topic_mapping.Mapping]:
    """The topic's mappings by trial, as committed."""
    folder = repo.root / layout.trial(topic).mappings
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        relative = layout.trial(topic).mapping(path.stem)
        found[path.stem] = topic_mapping.load(path, relative)
    return found


def pooled(mapping: topic_mapping.Mapping, dictionary: TopicDictionary, version: Version, where: str) -> pa.Table:
    """One trial version's rows as the topic's."""
    source = version.table(mapping.table or "")
    label = f"{version.record.trial}@{version.record.version}"
    return topic_mapping.pooled_rows(mapping, dictionary, source.to_arrow(), version.record.trial, label, where)


@dataclass(frozen=True)
class Pool:
    """The pooled rows of the topic's trials at the versions chosen, and where each came from."""

    table: pa.Table
    sources: list[dict[str, Any]]


def pool(repo: Repository, topic: str, pinned: bool = False, progress: Progress = SILENT) -> Pool:
    """Every mapped trial's rows as the topic's: at the trial's latest version, or (``pinned``) at the version its
    mapping was checked against."""
    import pyarrow as pa

    found = read_dictionary(repo, topic)
    chosen = mappings(repo, topic)
    if not chosen:
        raise InvalidInput(f"topic {topic} maps no trial yet (`ipd topic map {topic} TRIAL@vN --mapping FILE`)")
    tables, sources = [], []
    for trial, mapping in chosen.items():
        relative = layout.trial(topic).mapping(trial)
        version = repo.dataset(trial).version(mapping.version if pinned else None)
        with progress.step(f"mapping {trial}@{version.record.version}"):
            tables.append(pooled(mapping, found, version, relative))
        sources.append({"trial": trial, "version": version.record.version,
                        "fingerprint": version.record.fingerprint,
                        "mapping": f"{layout.MAPPINGS}/{trial}.yaml", "mapping_sha256": mapping.sha256})
    return Pool(pa.concat_tables(tables).combine_chunks(), sources)


def build(repo: Repository, topic: str, message: str | None = None, pinned: bool = False,
          progress: Progress = SILENT) -> VersionRecord:
    """Cut the topic's next pooled version; refused when the rows would be the latest version's again."""
    from ..ingest.delivery import IngestOptions, ingest
    from .suite import from_dictionary

    found = read_dictionary(repo, topic)
    made = pool(repo, topic, pinned, progress)
    named = ", ".join(f"{s['trial']}@{s['version']}" for s in made.sources)
    latest = _latest(repo, topic)
    if latest is not None and latest.sources == made.sources:
        raise InvalidInput(f"{topic}@{latest.version} is pooled from {named} with these mappings already: "
                           "nothing to build")
    roles = _roles(found)
    suite = from_dictionary(topic, found, [s["trial"] for s in made.sources], named)
    with tempfile.TemporaryDirectory(prefix="ipd-topic-") as scratch:
        from ..backends import parquet

        file = Path(scratch) / POOLED_FILE
        parquet.write(made.table, file)
        options = IngestOptions(topic, file, POOLED_ID, arm=roles.pop("arm", None), message=message or
                                f"Pooled from {named}", origin=f"topic {topic}: pooled from {named}",
                                roles=roles, sources=made.sources, suite=suite,
                                described={k: v for k, v in (("title", found.title), ("notes", found.notes)) if v})
        try:
            return ingest(repo, options, progress).record
        except InvalidInput as exc:  # said of the scratch file: say it of the pooled rows
            raise InvalidInput(str(exc).replace(f"{file}: ", f"topic {topic}, pooled from {named}: ")) from exc


def _latest(repo: Repository, topic: str) -> VersionRecord | None:
    if not (repo.root / layout.trial(topic).metadata).is_file():
        return None
    records = repo.dataset(topic).records()
    return records[-1] if records else None


def _roles(found: TopicDictionary) -> dict[str, Any]:
    """The pooled rows' roles, from the dictionary's: the checks then read the arm and the outcome."""
    roles: dict[str, Any] = {}
    if (arm := found.role("arm")) is not None:
        roles["arm"] = arm.name
    if (time := found.role("outcome_time")) is not None:
        roles["time"] = time.name
    if (status := found.role("outcome_status")) is not None:
        roles["status"] = {"column": status.name, "event": [1]}
    return roles
