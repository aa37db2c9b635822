"""``ipd validate``: what CI runs on every change of a data repository.

Every trial's latest version against its suite and integrity checks, every
version of every trial against its recorded part hashes and fingerprint, and
``ipd verify`` (records, hash chain, tags, log, stored bytes; with
``rebuild``, every version made again from source).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from ..checks.results import CheckReport
from ..checks.run import check
from ..errors import RepoError
from ..progress import SILENT, Progress
from ..repository import Repository, layout
from ..repository.refs import Ref


@dataclass
class VersionCheck:
    trial: str
    version: str
    success: bool
    problem: str = ""


@dataclass
class Validation:
    checks: list[CheckReport] = field(default_factory=list)
    versions: list[VersionCheck] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)  # trials that could not be checked at all

    @property
    def success(self) -> bool:
        return (not self.problems and all(c.success for c in self.checks)
                and all(v.success for v in self.versions))

    def to_json(self) -> dict[str, Any]:
        return {"success": self.success, "checks": [c.to_json() for c in self.checks],
                "versions": [vars(v) for v in self.versions], "problems": self.problems}


def validate(repo: Repository, progress: Progress = SILENT, cache: bool = True, rebuild: bool = False) -> Validation:
    """``cache``: reuse the report of a version checked before (see ``cache``); fingerprints are always verified."""
    from . import verify

    result = Validation()
    try:
        verified = verify(repo, progress=progress, fingerprints=False)  # the fingerprints are checked below
        if rebuild:
            from .rebuild import rebuild as replay

            replay(repo, progress=progress, result=verified)
        result.problems.extend({"object": p.object, "problem": p.problem} for p in verified.problems)
    except RepoError as exc:
        result.problems.append({"object": str(repo.root), "problem": f"cannot be verified: {exc}"})
    for trial in repo.trials():
        dataset = repo.dataset(trial)
        with progress.step(f"{trial}: fingerprints and corrections", total=len(dataset.records())) as advance:
            for record in dataset.records():
                checked = _verify(dataset.version(record.version))
                if checked.success and record.kind == "correction":
                    checked = _explained(dataset, record)
                result.versions.append(checked)
                advance(1)
        try:
            result.checks.append(check(repo, Ref(trial), progress, cache))
        except RepoError as exc:
            result.problems.append({"object": trial, "problem": str(exc)})
    return result


def _verify(version) -> VersionCheck:
    record = version.record
    try:
        version.verify()
    except RepoError as exc:
        return VersionCheck(record.trial, record.version, False, str(exc))
    return VersionCheck(record.trial, record.version, True)


def _explained(dataset, record) -> VersionCheck:
    """A corrected version's diff against its parent must be exactly what its log entries say."""
    from ..corrections import log
    from ..versions.diff import diff_parts
    from ..versions.explain import disagreements

    label = layout.trial(record.trial).log
    entries = log.read(dataset.repo.root / label)
    applied = [e for e in entries if e.version == record.version]
    if sorted(e.id for e in applied) != sorted(record.corrections):
        return VersionCheck(record.trial, record.version, False,
                            f"{label} lists {', '.join(e.id for e in applied) or 'no entries'} as applied in "
                            f"{record.version}; the version record names {', '.join(record.corrections) or 'none'}")
    problems = []
    try:
        for table in record.table_names:
            parent = dataset.version(record.parent).table(table)
            version = dataset.version(record.version).table(table)
            found = diff_parts(parent.record, parent.part_files(), version.record, version.part_files()).to_json()
            mine = [e for e in applied if (e.table or "") == ("" if table == record.participant_table else table)]
            where = f"table {table}: " if table and table != record.participant_table else ""
            problems += [where + problem for problem in disagreements(found, mine)]
    except RepoError as exc:
        return VersionCheck(record.trial, record.version, False, str(exc))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return VersionCheck(record.trial, record.version, False,
                            f"its diff against {record.parent} disagrees with {label}: {problems[0]}{more}")
    return VersionCheck(record.trial, record.version, True)


def junit(validation: Validation) -> str:
    """JUnit XML, which CI systems show as test results: one test case per check and per version."""
    root = ET.Element("testsuites", name="ipd validate")
    for report in validation.checks:
        suite = ET.SubElement(root, "testsuite", name=f"{report.trial}@{report.version}",
                              tests=str(len(report.results)),
                              failures=str(sum(not r.success for r in report.results)))
        for r in report.results:
            case = ET.SubElement(suite, "testcase", classname=f"{report.trial}.{r.kind}", name=r.name)
            if not r.success:
                keys = ", ".join(map(str, r.unexpected_keys[:20]))
                ET.SubElement(case, "failure", message=f"{r.unexpected_count} unexpected" +
                              (f": {keys}" if keys else ""))
    versions = ET.SubElement(root, "testsuite", name="fingerprints", tests=str(len(validation.versions)),
                             failures=str(sum(not v.success for v in validation.versions)))
    for v in validation.versions:
        case = ET.SubElement(versions, "testcase", classname=f"{v.trial}.fingerprint", name=f"{v.trial}@{v.version}")
        if not v.success:
            ET.SubElement(case, "failure", message=v.problem)
    for problem in validation.problems:
        suite = ET.SubElement(root, "testsuite", name=problem["object"], tests="1", failures="1")
        case = ET.SubElement(suite, "testcase", classname=problem["object"], name="check")
        ET.SubElement(case, "failure", message=problem["problem"])
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
