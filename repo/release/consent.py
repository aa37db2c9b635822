"""Who may be released in which tier: the consent rules, and the ID lists kept in restricted storage.

The NHLBI asks for two lists of participants: those who refused sharing
beyond the study, and those who refused commercial use. A trial gives each as
a column of its data, as a file of IDs, or as an explicit statement that
nobody refused, with its reason. A tier is built only when the rules say who
refused what that tier depends on: silence is not consent.

``ipd release consent`` records a list as it was received under
``source/consent/RULE/N/`` (DVC-tracked with the deliveries, so it is pushed to
the restricted remote only and never leaves it), checks every ID against the
latest version, and writes the rule, with who recorded it, when and why, into
``dataset.yaml``, all in one commit. A new list is a new file: the one an
earlier approval names stays readable.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import clock, storage
from ..backends.hashing import sha256_of
from ..errors import IntegrityError, InvalidInput
from ..progress import SILENT, Progress
from ..repository import layout
from .rules import CONSENT, TIERS, ConsentRule, ReleaseRules

if TYPE_CHECKING:
    from ..repository import Repository

NEEDED = {"noncommercial": ("no_sharing",), "commercial": ("no_sharing", "no_commercial")}
WHAT = {"no_sharing": "sharing beyond the study", "no_commercial": "commercial use"}
REFUSED = {"sharing": "no_sharing", "commercial": "no_commercial"}  # --refused WORD -> the rule it records


def word(name: str) -> str:
    return next(w for w, n in REFUSED.items() if n == name)


def how_to_record(trial: str, name: str) -> str:
    return (f"record it with `ipd release consent {trial} FILE --refused {word(name)}` (or `--none --reason TEXT` "
            "if nobody did)")


def missing(rules: ReleaseRules) -> dict[str, list[str]]:
    """Per tier, the consent rules it depends on that the rules do not give."""
    return missing_of({name: getattr(rules, name) for name in CONSENT})


def missing_of(given: dict[str, Any]) -> dict[str, list[str]]:
    """Per tier, the consent rules it depends on that are None in ``given`` (rule name -> rule)."""
    return {tier: [n for n in NEEDED[tier] if given.get(n) is None] for tier in TIERS}


def require_consent(trial: str, rules: ReleaseRules, tier: str) -> None:
    for name in NEEDED[tier]:
        if getattr(rules, name) is None:
            raise InvalidInput(f"{trial}: no rule says who refused {WHAT[name]} (release.consent.{name} in "
                               f"{layout.trial(trial).metadata}): {how_to_record(trial, name)}")


def consent_lists(root: Path, trial: str, rules: ReleaseRules) -> dict[str, set[str]]:
    """The IDs in each consent list kept as a file (rule name -> IDs as text)."""
    lists = {}
    for name in CONSENT:
        rule: ConsentRule | None = getattr(rules, name)
        if rule is not None and rule.file:
            lists[name] = read_ids(root, trial, rule, name, rules.participant_id)
    return lists


def read_ids(root: Path, trial: str, rule: ConsentRule, name: str, key: str) -> set[str]:
    files = layout.trial(trial)
    relative = files.file(rule.file)
    path = root / relative
    if not path.is_file() and (root / layout.pointer(files.source)).is_file():
        storage.materialize(root, [files.source])  # a clone: the lists come with the deliveries
    if not path.is_file():
        raise InvalidInput(f"{relative}: no such file (the ID list of release.consent.{name})")
    if rule.sha256 and sha256_of(path) != rule.sha256:
        raise IntegrityError(f"{relative}: not the file recorded for release.consent.{name} (its SHA-256 differs)")
    return {text for _, text in listed_ids(path, relative, rule.id_column or key, rule.id_column is not None)}


def listed_ids(path: Path, shown: str, id_column: str, strict: bool) -> list[tuple[int, str]]:
    """(line, ID) for each ID of a list: one ID a line, or a CSV whose ID column is ``id_column`` (a header naming
    other columns: the first). ``strict``: the header must name ``id_column``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{shown}: cannot be read as text ({' '.join(str(exc).split())})") from exc
    reader = csv.reader(io.StringIO(text))
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip() for cell in rows[0][1]]
    column = 0
    if id_column in header:
        column, rows = header.index(id_column), rows[1:]
    elif strict:
        raise InvalidInput(f"{shown}: line {rows[0][0]}: no column {id_column!r} in the header "
                           f"({', '.join(header)})")
    elif len(header) > 1 or header[0].lower() in ("id", "ids", "key", "participant", "participant_id"):
        rows = rows[1:]  # a header naming some other column: the IDs are its first column
    out = []
    for line, row in rows:
        if column >= len(row) or not row[column].strip():
            raise InvalidInput(f"{shown}: line {line}: no ID ({','.join(row)!r})")
        out.append((line, row[column].strip()))
    return out


# -- recording consent --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConsentRecorded:
    trial: str
    rule: str  # no_sharing | no_commercial
    statement: ConsentRule
    ids: int  # participants listed (0 for --none)
    replaced: bool
    commit: str


@dataclass(frozen=True)
class ConsentState:
    trial: str
    rules: dict[str, dict[str, Any] | None]  # rule name -> as dataset.yaml holds it
    missing: dict[str, list[str]]  # tier -> the rules it still needs

    def to_json(self) -> dict[str, Any]:
        return {"trial": self.trial, "consent": self.rules, "missing": self.missing}


def current(repo: Repository, trial: str) -> ConsentState:
    """The consent rules ``dataset.yaml`` holds for ``trial`` (read, not checked: ``ipd release plan`` checks)."""
    release = repo.dataset(trial).metadata().release or {}
    raw = (release.get("consent") if isinstance(release, dict) else None) or {}
    rules = {name: raw.get(name) if isinstance(raw, dict) else None for name in CONSENT}
    return ConsentState(trial, rules, missing_of(rules))


def record(repo: Repository, trial: str, refused: str, file: Path | None = None, none: bool = False,
           reason: str | None = None, id_column: str | None = None, replace: bool = False,
           progress: Progress = SILENT) -> ConsentRecorded:
    """Record who refused ``refused`` (sharing | commercial): an ID list ``file``, or ``none`` with a reason."""
    from ..repository.datasets import dump_metadata

    if refused not in REFUSED:
        raise InvalidInput(f"--refused {refused!r}: choose sharing (beyond the study) or commercial (use)")
    name = REFUSED[refused]
    reason = (reason or "").strip() or None
    if (file is None) == (not none):
        raise InvalidInput("give either the FILE of IDs of those who refused, or --none with --reason (nobody did)")
    if none and reason is None:
        raise InvalidInput(f"--none needs --reason: say why nobody refused {WHAT[name]} (silence is not consent)")
    if none and id_column:
        raise InvalidInput("--id-column goes with a FILE of IDs, not with --none")
    dataset = repo.dataset(trial)
    trial_paths = layout.trial(trial)
    metadata_path = trial_paths.metadata
    _check_replacing(current(repo, trial).rules[name], replace, metadata_path, name)  # before reading the list
    ids: list = []
    if file is not None:
        ids = _checked_ids(dataset, file, id_column, name)
    when = clock.now()
    by = str(repo.scm.identity())
    paths = [metadata_path]
    if file is not None:
        storage.check_remote(repo.root)
        paths += [trial_paths.source, layout.pointer(trial_paths.source), trial_paths.gitignore]
        paths += [p for p in [storage.remote_path_in_tree(repo.root)] if p]
    with repo.writing(paths):
        previous = current(repo, trial).rules[name]  # again, under the lock: another curator may have been first
        _check_replacing(previous, replace, metadata_path, name)
        if file is None:
            statement = ConsentRule(none=True, reason=reason, by=by, when=when)
        else:
            storage.materialize(repo.root, [trial_paths.source])  # DVC stores source/ whole, earlier deliveries too
            relative = _new_place(repo.root / trial_paths.folder, name, file.name)
            target = repo.root / trial_paths.file(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
            statement = ConsentRule(file=relative, id_column=id_column, sha256=sha256_of(target), reason=reason,
                                    by=by, when=when)
            with progress.step("storing the list and pushing it to the restricted remote"):
                storage.store(repo.root, [trial_paths.source])
                storage.make_private(repo.root, trial_paths.source)
        metadata = dataset.metadata()
        release = metadata.get("release")
        if release is None:
            release = metadata["release"] = {}
        if not isinstance(release, dict) or not isinstance(release.get("consent") or {}, dict):
            raise InvalidInput(f"{metadata_path}: release{'' if not isinstance(release, dict) else '.consent'}: "
                               "expected a mapping; correct it there first")
        release["consent"] = {**(release.get("consent") or {}), name: statement.to_yaml()}
        dataset.metadata_path.write_text(dump_metadata(metadata))
        said = (f"nobody refused {WHAT[name]} ({reason})" if none else
                f"{len(ids)} participant(s) refused {WHAT[name]} ({statement.file})")
        commit = repo.scm.commit([p for p in paths if p != trial_paths.source],
                                 f"{trial}: consent: {said}{' (replacing the previous statement)' if previous else ''}")
    return ConsentRecorded(trial, name, statement, len(ids), previous is not None, commit)


def _check_replacing(previous: dict[str, Any] | None, replace: bool, where: str, name: str) -> None:
    if previous is not None and not replace:
        raise InvalidInput(f"{where}: release.consent.{name} is recorded already ({_describe(previous)}): give "
                           "--replace to record a new statement (a list kept before stays in restricted storage)")


def _describe(raw: dict[str, Any]) -> str:
    if not isinstance(raw, dict):
        return repr(raw)
    if raw.get("none"):
        return "nobody refused"
    if raw.get("file"):
        return f"the ID list {raw['file']}"
    return f"the column {raw.get('column')}"


def _new_place(trial_dir: Path, name: str, filename: str) -> str:
    """``source/consent/RULE/N/FILE``: a numbered folder of its own, so a list never overwrites an earlier one."""
    folder = trial_dir / layout.CONSENT_FILES / name
    taken = [int(p.name) for p in folder.iterdir() if p.name.isdigit()] if folder.is_dir() else []
    return layout.consent_file(name, max(taken, default=0) + 1, filename)


def _checked_ids(dataset, file: Path, id_column: str | None, name: str) -> list:
    """The list's IDs typed as the trial's key; every one a participant of the latest version, none twice."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not file.is_file():
        raise InvalidInput(f"{file}: no such file")
    latest = dataset.version()
    key = latest.record.participant_column
    keys = latest.to_arrow([key]).column(key)
    listed = listed_ids(file, str(file), id_column or key, id_column is not None)
    if not listed:
        raise InvalidInput(f"{file}: holds no IDs; if nobody refused {WHAT[name]}, say so with --none --reason TEXT")
    typed = []
    for line, text in listed:
        try:
            typed.append(pa.array([text]).cast(keys.type)[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InvalidInput(f"{file}: line {line}: {text!r} is not a {key} ({keys.type})") from None
    seen: dict[Any, int] = {}
    for (line, text), value in zip(listed, typed):
        if value in seen:
            raise InvalidInput(f"{file}: line {line}: {key} {text} is listed twice (first on line {seen[value]})")
        seen[value] = line
    known = pc.is_in(pa.array(typed, keys.type), value_set=keys.combine_chunks()).to_pylist()
    for (line, text), found in zip(listed, known):
        if not found:
            raise InvalidInput(f"{file}: line {line}: {key} {text} is not a participant of "
                               f"{dataset.trial}@{latest.record.version} (the latest version)")
    return typed

