"""Building a release: one approved version, de-identified for one access tier, packaged and pushed.

Under the repository lock and inside one transaction: the approval must be
for the plan the rules give now; participants get their release IDs of the
tier (the linkage grows by the new ones); the version is de-identified for
the tier, every remaining text column is scanned for identifying content (a finding
refuses the release, naming the column), the disclosure figures are computed
and the package is written. DVC stores the package and the linkage; the
package is pushed to the release remote only and the linkage to the
restricted remote only, so the storage itself keeps them apart. Then the
release record and its PROV record are committed. A failure anywhere leaves
the repository as it was.

A release is immutable. Building it again rebuilds every file and compares:
the same version and approval give the same bytes, and anything else is
refused rather than replacing what requestors may already hold. What must
change (a package of an older format, new disclosure rules for the same
version) goes out as a new *issue* of the release (``reissue``): a record and
package of their own, named ``vN-TIER-K``, under the current package format,
the current approval and the tier's release IDs, beside the issues before it.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends import clock, storage
from ..backends.hashing import sha256_if_any, sha256_of
from ..errors import IntegrityError, InvalidInput, NotFound
from ..progress import SILENT, Progress
from ..provenance import release_document, tool
from ..repository import Repository, layout
from ..repository.metadata import role_columns
from ..repository.refs import Ref
from . import codes, ids, package
from . import record as records
from .consent import consent_lists, require_consent
from .plan import plan_metadata
from .record import ReleaseRecord, release_name
from .rules import TIERS
from .scan import released_formulas
from .sealing import seal, sealer
from .shape import Records
from .shape import read as read_shape


@dataclass(frozen=True)
class BuildOptions:
    ref: Ref
    tier: str
    out: Path | None = None  # a copy of the package for the requestor, outside the repository
    # Run inside the release's transaction once it is recorded (publishing it to the catalogue): a failure there
    # undoes the release too, so a release is never recorded without the publication that should follow it.
    then: Callable[[Repository, ReleaseRecord], None] | None = None
    reissue: bool = False  # a new issue of the version's release for the tier, beside the ones recorded
    reason: str = ""  # why it is reissued: required with ``reissue``, and only then


@dataclass(frozen=True)
class BuildResult:
    record: ReleaseRecord
    built: bool  # False: the release existed already, and rebuilding it gave the very same files
    new_ids: int  # participants given a release ID for the first time
    out: Path | None
    formula_columns: list[str] = field(default_factory=list)  # text a spreadsheet would run (scan.formulas)


def build(repo: Repository, options: BuildOptions, progress: Progress = SILENT) -> BuildResult:
    if options.tier not in TIERS:
        raise InvalidInput(f"unknown tier {options.tier!r}; choose {' or '.join(TIERS)}")
    _check_reissue(options)
    _check_out(options.out)
    dataset = repo.dataset(options.ref.trial)
    trial = dataset.trial
    version = dataset.version(options.ref.version)
    name = version.record.version
    release_remote = repo.settings.get("remotes", {}).get("release", storage.RELEASE_REMOTE)
    storage.check_remote(repo.root, release_remote)
    storage.check_remote(repo.root)
    trial_paths = layout.trial(trial)
    paths = [trial_paths.releases, trial_paths.linkage, layout.pointer(trial_paths.linkage), trial_paths.gitignore,
             trial_paths.provenance]
    paths += _remotes_in_tree(repo, release_remote)
    with repo.writing(paths):
        latest, issue = _issues(repo, trial, name, options)
        previous = None if options.reissue else latest  # the release being built again, if any
        folder = trial_paths.release_package(release_name(name, options.tier, issue))
        approval, rules = _approval(repo, trial, name, progress)
        require_consent(trial, rules, options.tier)
        excluded_ids = consent_lists(repo.root, trial, rules)
        metadata = plan_metadata(dataset, name)  # the dictionary the plan, and so the approval, used
        with progress.step(f"reading {trial}@{name}"):
            shape = read_shape(version, metadata)
        table = shape.participants
        linkage, new_ids = _release_ids(repo, table, rules.participant_id, f"{trial}@{name}", options.tier, progress)
        # A rebuild keeps the format it was built in; a new release (or issue) is of the current one.
        package_format = previous.package_format if previous is not None else records.PACKAGE_FORMAT
        if package_format >= codes.RANDOM_CODES_FORMAT:  # centres and technicians new to the tier get their codes
            drawn, _ = codes.assign_all(linkage.codes, rules, table, options.tier, name)
            linkage = dataclasses.replace(linkage, codes=drawn)
        released, figures, fingerprint = deidentified(table, rules, options.tier, linkage, shape.metadata,
                                                     excluded_ids, progress, package_format, shape.records)
        secret = linkage.secret if package_format >= 2 else None
        about = package.About(trial, name, options.tier, str(metadata.title or ""),
                              str(metadata.get("notes") or ""), sealed_fingerprint(version.record.fingerprint, secret),
                              approval, key_variables(metadata, rules),
                              **described(repo, dataset, metadata, name, options.tier, previous, secret),
                              package_format=package_format)
        with progress.step("writing the package", total=3) as advance:
            manifest = package.write(repo.root / folder, released, figures, about, fingerprint, advance)
        files = {**manifest.files, package.MANIFEST: sha256_of(repo.root / folder / package.MANIFEST)}
        formula_columns = released_formulas(released)
        if previous is not None:
            _same_as(previous, files, approval)
            result = BuildResult(previous, False, 0, options.out, formula_columns)
        else:
            _check_changed(latest, files)
            record = ReleaseRecord(trial, name, options.tier, clock.now(), str(repo.scm.identity()),
                                   version.record.fingerprint, fingerprint, released.table.num_rows, manifest.columns,
                                   rules.participant_id, approval, files, dict(released.excluded),
                                   tool(), records.PACKAGE_FORMAT, issue, options.reason.strip())
            _store(repo, record, linkage, release_remote, progress)
            result = BuildResult(record, True, new_ids, options.out, formula_columns)
        if options.then is not None:
            options.then(repo, result.record)
    if options.out is not None:
        _copy_out(repo.root / folder, options.out)
    return result


def _issues(repo: Repository, trial: str, version: str, options: BuildOptions) -> tuple[ReleaseRecord | None, int]:
    """The latest issue of the version's release for the tier (None: none yet), and the issue this build makes."""
    latest = records.latest_issue(records.records(repo.root, trial, options.tier), version, options.tier)
    if latest is None and options.reissue:
        raise NotFound(f"{trial}@{version} has no {options.tier} release to reissue: release it first (`ipd release "
                       f"{trial}@{version} --tier {options.tier}`)")
    if latest is None:
        return None, 1
    return latest, latest.issue + 1 if options.reissue else latest.issue


def _check_changed(latest: ReleaseRecord | None, files: dict[str, str]) -> None:
    """A reissue must change something a holder would get: the same files again would only be another name."""
    if latest is not None and latest.files == files:
        raise InvalidInput(f"nothing to reissue: {latest.label} comes out with the very same files under the current "
                           "package format and approval")


def _check_reissue(options: BuildOptions) -> None:
    """A reissue says why; a reason without ``--reissue`` would be silently dropped, so it is refused."""
    if options.reissue and not options.reason.strip():
        raise InvalidInput("a reissue needs --reason: say why the release is reissued (it goes into the release "
                           "record, its PROV record and its release notes)")
    if options.reason and not options.reissue:
        raise InvalidInput("--reason is for a reissue: add --reissue, or leave out --reason")


def _release_ids(repo: Repository, table, column: str, label: str, tier: str, progress: Progress):
    """The linkage with every participant in it for ``tier``, and how many are new to the tier."""
    import pyarrow.compute as pc

    trial, version = label.split("@")
    with progress.step("assigning release IDs"):
        if column not in table.column_names:
            raise InvalidInput(f"release.participant_id: {label} has no column {column!r}")
        values = table[column]
        if values.null_count or pc.count_distinct(values).as_py() != table.num_rows:
            raise InvalidInput(f"release.participant_id: {column} of {label} is missing or repeated in some rows; "
                               "release IDs need one row per participant")
        return ids.assign(ids.read(repo.root, trial), values, version, tier)


def _approval(repo: Repository, trial: str, version: str, progress: Progress) -> tuple[dict[str, Any], Any]:
    """The approval of the plan the rules give now (refused when there is none), and those rules."""
    from .approve import current_approval, read_approval
    from .plan import plan

    if read_approval(repo, trial, version) is None:
        current_approval(repo, trial, version)  # refuses, saying how to approve, before computing any plan
    found = current_approval(repo, trial, version, plan(repo, trial, version, progress))
    approval = {"file": Path(found.path).relative_to(layout.trial(trial).folder).as_posix(),
                "sha256": sha256_if_any(repo.root / found.path), "plan_sha256": found.plan_sha256,
                "by": found.by, "when": found.when}
    if found.accepted_risk:  # the approver accepted a plan that misses its risk targets: the record says so
        approval["accepted_risk"] = found.accepted_risk
    return approval, found.rules


def deidentified(table, rules, tier: str, linkage: ids.Linkage, metadata: dict, excluded_ids: dict,
                 progress: Progress, package_format: int = records.PACKAGE_FORMAT,
                 beside: list[Records] | tuple = ()):
    """The tier's release of ``table`` under the tier's release IDs, scanned, with its disclosure figures.

    ``package_format``: the format of the release being built (``record.PACKAGE_FORMAT``, or its record's when
    it is rebuilt): from format 3 on, centres and technicians take the tier's codes drawn at random (``codes``,
    in the linkage) and the disclosure figures count centres as quasi-identifiers; before, their codes follow
    the order of their values and the figures leave centres out, as those releases were built.
    ``beside``: the participants' records beside ``table`` (``shape``), released with it."""
    from .deidentify import deidentify
    from .disclosure import disclosure
    from .scan import scan_released

    with progress.step(f"de-identifying for the {tier} tier"):
        keys = table[rules.participant_id]
        drawn = package_format >= codes.RANDOM_CODES_FORMAT
        tier_codes = codes.as_table(linkage.codes, tier, list(codes.recoded(rules, table.column_names))) \
            if drawn else None
        released = deidentify(table, rules, tier, linkage.mapping(keys, tier), metadata.columns, excluded_ids,
                              linkage.secret, linkage.shared(keys), tier_codes, beside)
    with progress.step("scanning the released columns for identifiers"):
        # a column the rules release under a recorded exception (release.exceptions) was looked at and approved
        found = [(column, what) for column, what in scan_released(released) if column not in rules.exceptions]
    if found:
        column, what = found[0]
        raise InvalidInput(f"column {column!r} of the release holds {what}: delete or recode it in the release "
                           f"rules (release: in dataset.yaml), then plan and approve again")
    with progress.step("computing the disclosure figures"):
        figures = disclosure(released.table, rules, table, released.excluded, released.modifications, drawn)
    _check_cells(figures, rules)
    with progress.step("fingerprinting the released rows"):
        fingerprint = released_fingerprint(released)
    return released, figures, fingerprint


def released_fingerprint(released) -> str:
    """The fingerprint of the released rows (``package.rows_fingerprint``): of the data as written, and, for a
    trial of several tables, of every table under its name."""
    from ..repository.fingerprint import of_table

    return package.rows_fingerprint(of_table(released.data), {n: of_table(t) for n, t in released.tables.items()})


def _check_cells(figures, rules) -> None:
    """Every protected quasi-identifier must meet the minimum cell size in the released rows (the NHLBI rule).
    Rules with risk targets are held to those instead, over the whole quasi-identifier set, at approval."""
    if rules.targets:
        return
    protected = [p.column for p in rules.quasi_identifiers if p.action not in ("keep", "delete")]
    for column in protected:
        found = figures.polychotomous.get(column) or figures.continuous.get(column)
        if found and not found["min_cell_met"]:
            first = found["failing"][0]
            cell = " ".join(str(first[c]) for c in (rules.race, rules.sex) if c and c in first) or "all"
            what = (f"value {first['value']!r} is shared by {first['count']}" if "value" in first else
                    f"top value is shared by {first['top_count']} and the bottom by {first['bottom_count']}")
            raise InvalidInput(f"{column}: in the race–sex cell {cell}, the {what} participants, fewer than "
                               f"{figures.min_cell} ({found['failing_total']} cell(s) fall short): protect it "
                               f"further in the release rules, then plan and approve again")


def sealed_fingerprint(fingerprint: str, secret: bytes | None) -> str:
    """The version's fingerprint as a package states it: sealed, or as it is in a package of format 1."""
    return seal(secret, fingerprint) if secret is not None else fingerprint


def described(repo: Repository, dataset, metadata: dict, version: str, tier: str,
              previous: ReleaseRecord | None, secret: bytes | None) -> dict[str, Any]:
    """What the package says beyond its data and the approval: the About fields after the key variables.

    A rebuild takes the curator, the tool and the releases that came before
    from the first build, so it gives the same bytes whoever rebuilds it later.
    With ``secret``, the version and its delivery are named by sealed identifiers (``sealing``): a package
    leaves the restricted zone, and their hashes and file names stay in it (None: a package of format 1).
    """
    from . import relations
    from .labels import value_labels

    shelf = records.records(repo.root, dataset.trial, tier)
    known = relations.at_build(dataset.records(), shelf, dataset.trial, version, tier,
                               _recorded_before(repo, previous, shelf) if previous else None,
                               sealer(secret) if secret is not None else None)
    return {"license": str(metadata.get("license") or ""),
            "value_labels": value_labels(metadata.columns, dataset.metadata().columns),
            "relations": known,
            "curator": previous.author if previous else str(repo.scm.identity()),
            "tool": (previous.tool if previous and previous.tool else tool())}


def _recorded_before(repo: Repository, release: ReleaseRecord, shelf: list[ReleaseRecord]) -> set[str] | None:
    """The releases whose records were committed before ``release``'s (by git history, not by the clock: two
    releases can be recorded within one second); None when its record is not committed yet."""
    added = repo.scm.added_in(layout.trial(release.trial).releases)
    mine = added.get(layout.trial(release.trial).release_record(release.name))
    if mine is None:
        return None
    commits = {r.name: added.get(layout.trial(r.trial).release_record(r.name)) for r in shelf if r.name != release.name}
    return {name for name, commit in commits.items() if commit and repo.scm.is_ancestor(commit, mine)}


def key_variables(metadata: dict, rules) -> dict[str, str]:
    """The columns whose frequencies the README shows: arm, sex, race, age."""
    roles = role_columns(metadata.get("roles") or {})
    found = {"arm": roles.get("arm"), "sex": rules.sex, "race": rules.race, "age": rules.age.column}
    return {role: column for role, column in found.items() if isinstance(column, str)}


def _same_as(previous: ReleaseRecord, files: dict[str, str], approval: dict[str, Any]) -> None:
    label = previous.label
    if previous.approval.get("plan_sha256") != approval["plan_sha256"]:
        raise InvalidInput(f"{label} was released under another approved plan ({previous.approval.get('plan_sha256')}"
                           f"); a release is never replaced: release a new version, or reissue this one (`ipd "
                           f"release {previous.trial}@{previous.version} --tier {previous.tier} --reissue --reason "
                           "...`)")
    if previous.files != files:
        changed = sorted(n for n in previous.files.keys() | files.keys() if previous.files.get(n) != files.get(n))
        raise IntegrityError(f"rebuilding {label} under the same approval gave different files ({', '.join(changed)}) "
                             f"than the recorded release; the recorded release stays as it was")


def _remotes_in_tree(repo: Repository, release_remote: str) -> list[str]:
    """Remotes inside the work tree (the example repository's) travel with git: commit what was pushed there."""
    return [p for r in (storage.RESTRICTED_REMOTE, release_remote) if (p := storage.remote_path_in_tree(repo.root, r))]


def _store(repo: Repository, record: ReleaseRecord, linkage: ids.Linkage, release_remote: str,
           progress: Progress) -> None:
    """DVC stores the package and the linkage, each pushed to its own remote; then git records the release."""
    trial, version, tier = record.trial, record.version, record.tier
    trial_paths = layout.trial(trial)
    folder, linkage_dir = trial_paths.release_package(record.name), trial_paths.linkage
    ids.write(repo.root, trial, linkage)
    with progress.step("storing in the DVC cache"):
        storage.add(repo.root, [folder, linkage_dir])
    with progress.step("pushing the release to the release remote"):
        storage.push(repo.root, [folder], remote=release_remote)
    with progress.step("pushing the linkage to the restricted remote"):
        storage.push(repo.root, [linkage_dir], remote=storage.RESTRICTED_REMOTE)
    storage.make_private(repo.root, linkage_dir)
    (repo.root / trial_paths.release_record(record.name)).write_text(record.to_json())
    prov = repo.root / trial_paths.provenance_record(record.name)
    prov.parent.mkdir(parents=True, exist_ok=True)
    prov.write_text(release_document(record, repo.scm.identity(),
                                     sha256_if_any(repo.root / trial_paths.provenance_record(version))))
    what = f"{tier} release, issue {record.issue}" if record.issue > 1 else f"{tier} release"
    why = f": reissued because {record.reissue_reason}" if record.issue > 1 else ""
    repo.scm.commit([trial_paths.releases, layout.pointer(linkage_dir), trial_paths.gitignore,
                     trial_paths.provenance_record(record.name), *_remotes_in_tree(repo, release_remote)],
                    f"{trial} {version}: {what} ({record.rows} participants){why}")


def _check_out(out: Path | None) -> None:
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInput(f"{out} exists and is not an empty directory; choose another --out")


def _copy_out(folder: Path, out: Path) -> None:
    """A copy for the requestor: into a scratch directory beside ``out``, then renamed, so it is whole or absent."""
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = out.parent / f".{out.name}.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(folder, scratch)
    if out.exists():
        out.rmdir()
    scratch.rename(out)

