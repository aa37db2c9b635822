"""The README of a release package, as the NHLBI guidelines ask for it.

"A complete overview of the data and a description of their use for
investigators who are not familiar with the data set": the study, the files,
system requirements, program code to install a SAS file from the transport
file, and frequency distributions of selected key variables. Plain text, no
time but the approval's, so the same release gives the same README.

The frequency tables are columns of text a spreadsheet's text import splits
into cells, so their values are shown as the CSV file holds them (``csvsafe``):
text a spreadsheet would run as a formula has a leading quote. When the
release holds such text, the README says in which columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends import csvsafe
from ..backends.columns import STRING, quote, type_class
from ..backends.sql import connect
from .cells import MISSING_NOTE

if TYPE_CHECKING:
    from .about import About
    from .deidentify import Deidentified
    from .disclosure import Disclosure

TIER_WORDS = {
    "noncommercial": ("Non-Commercial Purpose Data Set", "every participant except those who asked that their "
                      "data not be shared beyond the study investigators"),
    "commercial": ("Commercial Purpose Data Set", "every participant except those who asked that their data not "
                   "be shared beyond the study investigators or not be used for commercial purposes"),
}
DESCRIPTIONS = {
    ".parquet": "the data, Apache Parquet (zstd compression)",
    ".csv": "the data, CSV (UTF-8, comma-separated, header row; an empty field is a missing value)",
    ".xpt": "the data, SAS transport file (XPORT), one member named DATA",
    "dictionary.yaml": "the data dictionary: every variable, its type, label and how it was recoded",
    "modifications.csv": "the modification log: per rule, the variable, action, parameters, rows affected "
                         "and rationale",
    "modifications.json": "the same log as JSON",
    "disclosure.json": "disclosure figures: quasi-identifiers, joint k, cell sizes, prosecutor risk, "
                       "sample uniques, information lost",
    "datapackage.json": "Frictionless Data Package: the CSV's Table Schema (types, labels, value labels, "
                        "missing values, primary key release_id) and every data file's SHA-256",
    "ro-crate-metadata.json": "RO-Crate 1.1 metadata: the release, every file with its SHA-256, how it was "
                              "made (tool, source version, curator) and its DataCite-style relations",
    "manifest.json": "the SHA-256 of every other file, and the fingerprint of the released rows",
    "README.txt": "this file",
}
AGE_BANDS = (18, 30, 40, 50, 60, 70, 80, 90)


def text(about: About, release: Deidentified, figures: Disclosure, files: list[str], xpt_version: int) -> str:
    name, who = TIER_WORDS[about.tier]
    title = f"{about.trial} {about.version}: {name}"
    approval = about.approval
    excluded = ", ".join(f"{n} ({rule.replace('_', ' ')})" for rule, n in release.excluded.items()) or "none"
    sections = [
        f"{title}\n{'=' * len(title)}",
        _section("Study overview", [
            about.title or about.trial, "", *([about.notes.strip(), ""] if about.notes else []),
            f"This release comes from version {about.version} of the trial {about.trial!r} in an ipd repository "
            f"(version fingerprint {about.version_fingerprint}). {_holds(release)}",
            *_tables(release, about.trial),
        ]),
        _section("This release", [
            f"Tier: {name}: {who}. Participants excluded: {excluded}.",
            "Prepared by the NHLBI guidelines for preparing data sets: direct identifiers, sensitive variables "
            "and verbatim text deleted; participant IDs replaced by release IDs (release_id), which stay the same "
            f"in every release of this trial{_ids_scope(release)}; centre and technician identifiers deleted or "
            f"recoded; dates coded relative to a reference date; {_protection(release, figures)}. Every change is "
            "listed in modifications.csv and described in dictionary.yaml.",
            f"The plan of modifications was approved by {approval.get('by')} on {approval.get('when')} "
            f"(plan sha256 {approval.get('plan_sha256')}).",
            f"Missing values: {MISSING_NOTE}.",
            *_formulas_note(release.data),
        ]),
        *_risk(release, approval),
        _section("Files", [f"{f:<24} {describe(f, xpt_version)}" for f in sorted(files)]),
        _section("System requirements", [
            "Any computer that can read the formats: the Parquet file with Python (pyarrow, pandas, polars), "
            "R (arrow) or DuckDB; the CSV file with any statistical package or spreadsheet; the transport file "
            f"with SAS {'6 or later' if xpt_version == 5 else '9.4 or later'} (or R haven, Python pyreadstat). "
            "The files are checked with any SHA-256 tool against manifest.json.",
        ]),
        _section("Reading the SAS transport file", _sas_code(about.trial, xpt_version, list(release.tables))),
        _section("Frequency distributions of key variables", _frequencies(release, about.key_variables)),
    ]
    return "\n\n".join(sections) + "\n"


def _protection(release: Deidentified, figures: Disclosure) -> str:
    if release.assessment is not None and release.assessment.declared:
        return ("quasi-identifiers generalised (whole units, bands, grouped categories, pooled centres) and, for the "
                "few records still in small classes, the fewest values locally suppressed, to meet the risk targets "
                "below")
    return (f"rare values of quasi-identifiers collapsed or top/bottom-coded so that at least {figures.min_cell} "
            "participants share each value in every race-sex cell")


def _risk(release: Deidentified, approval: dict) -> list[str]:
    """Risk targets and the cost of meeting them, for a release whose rules declare targets (others: nothing,
    so their README stays as it was)."""
    from .risk import readme_lines

    assessment = release.assessment
    if assessment is None or not assessment.declared:
        return []
    return [_section("Disclosure control", readme_lines(assessment, approval.get("accepted_risk")))]


def _section(heading: str, lines: list[str]) -> str:
    return f"{heading}\n{'-' * len(heading)}\n" + "\n".join(lines)


def describe(name: str, xpt_version: int) -> str:
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    suffix = "." + name.rsplit(".", 1)[-1]
    return DESCRIPTIONS.get(suffix, "") + (f"; XPORT version {xpt_version}" if suffix == ".xpt" else "")


def _sas_code(trial: str, xpt_version: int, tables: list[str] = ()) -> list[str]:
    code = _sas_file(trial, xpt_version)
    for table in tables:  # each file holds one member named DATA: copied into a library of its own
        code += ["", *_sas_file(f"{trial}.{table}", xpt_version, f"<a directory for {table}>",
                                f"{trial}.{table}.xpt")]
    return code


def _sas_file(stem: str, xpt_version: int, directory: str = "<a directory of your choice>",
              source: str = "the transport file") -> list[str]:
    if xpt_version == 5:
        return [f"/* Creates the SAS data set OUT.DATA from {source}. */",
                f'libname xptfile xport "{stem}.xpt" access=readonly;',
                f'libname out "{directory}";',
                "proc copy inlib=xptfile outlib=out memtype=data;",
                "run;"]
    return ["/* Variable names longer than eight characters need XPORT version 8, read by %XPT2LOC (SAS 9.4). */",
            f'libname out "{directory}";',
            f"%xpt2loc(libref=out, filespec='{stem}.xpt');"]


def _holds(release: Deidentified) -> str:
    table, data = release.table, release.data
    if release.joined is None:
        return f"It holds {table.num_rows} participants and {table.num_columns} variables."
    return (f"It holds {data.num_rows} records of {table.num_rows} participants, one row a record (a participant's "
            f"own variables repeated on each of their rows), and {data.num_columns} variables.")


def _tables(release: Deidentified, trial: str) -> list[str]:
    """The trial's other tables, each record under its participant's release ID."""
    if not release.tables:
        return []
    listed = "; ".join(f"{name}: {t.num_rows} records, {t.num_columns} variables ({trial}.{name}.csv, .parquet, "
                       ".xpt)" for name, t in release.tables.items())
    return ["", f"Beside the participants ({trial}.csv, .parquet, .xpt), the trial's other tables hold their "
                f"records, each under its participant's release_id: {listed}. Each table's variables and how they "
                "were recoded are in dictionary.yaml under tables; its changes are in modifications.csv as "
                "TABLE.VARIABLE."]


def _frequencies(release: Deidentified, variables: dict[str, str]) -> list[str]:
    """Counts and percentages per value of arm, sex, race, and age in bands."""
    table = release.table
    con = connect()
    con.register("rel", table)
    lines: list[str] = []
    for role, column in variables.items():
        if column not in table.column_names:
            continue
        value = _age_band(column) if role == "age" else f"CAST({quote(column)} AS VARCHAR)"
        rows = con.sql(f"SELECT {value} AS v, count(*) AS n FROM rel GROUP BY v "
                       "ORDER BY v IS NULL, v").fetchall()
        lines += ["", f"{column} ({role}{', in bands' if role == 'age' else ''})",
                  f"  {'value':<16} {'count':>9} {'percent':>8}"]
        text = type_class(table.schema.field(column).type) == STRING
        lines += [f"  {_shown(v, text):<16} {n:>9} {_percent(n, table.num_rows):>8}" for v, n in rows]
    return lines[1:] if lines else ["(the release has none of the key variables: arm, sex, race, age)"]


def _age_band(column: str) -> str:
    """Ages in bands (<18, 18-29, …, 80-89, 90+); a text value such as "90+" stays as it is."""
    number = f"TRY_CAST({quote(column)} AS DOUBLE)"
    cases = [f"WHEN {number} < {AGE_BANDS[0]} THEN ' <{AGE_BANDS[0]}'"]
    for low, high in zip(AGE_BANDS, AGE_BANDS[1:]):
        cases.append(f"WHEN {number} < {high} THEN '{low}-{high - 1}'")
    cases.append(f"WHEN {number} >= {AGE_BANDS[-1]} THEN '{AGE_BANDS[-1]}+'")
    return f"CASE {' '.join(cases)} ELSE CAST({quote(column)} AS VARCHAR) END"


def _shown(value: Any, text: bool) -> str:
    """A value of a text column neutralised as the CSV neutralises it (``csvsafe``); numbers, and the bands made
    of them, as they are."""
    if value is None:
        return "(missing)"
    shown = str(value).strip()
    return csvsafe.cell(shown) if text else shown


def _ids_scope(release: Deidentified) -> str:
    """Release IDs are per tier, so the README says in which releases they stay the same; a release of only
    legacy IDs (shared by the tiers, ``ids``) says what it said before, so it rebuilds byte for byte."""
    return "" if release.shared_ids else " in this tier (the other tier gives its participants other release IDs)"


def _formulas_note(table) -> list[str]:
    """Where the CSV file differs from the other data files: nowhere, unless a text column holds formula-like text."""
    found = csvsafe.columns(table)
    if not found:
        return []
    return [f"In the CSV file, {csvsafe.NOTE}: in {', '.join(found)}. The Parquet and SAS transport files hold "
            "these values as they are."]


def _percent(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"
