"""Integrity checks IPD meta-analysis groups run on every trial before analysis.

They look for what a data dictionary cannot see: whether the randomisation
looks random (allocation ratio, baseline balance, weekday, accrual, ID
sequence), whether dates are in a possible order, how complete follow-up is,
whether missing data differ by arm, whether the data reproduce the
figures the trial published, and whether any text would run as a formula in
a spreadsheet. Each check runs only when the roles and design items it needs
are declared in the trial's ``dataset.yaml`` (the last, when there is text).

Every figure is an aggregate computed by DuckDB over the trial's relation;
only row-level failures fetch participant keys (at most ``MAX_KEYS``). The
randomisation checks are in ``randomisation``, the follow-up ones in
``followup`` and the formula one in ``formulas``; ``steps`` lists them all in
report order with the columns each reads, so that a version cut by
corrections re-runs only those reading a corrected column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..backends import rowkey
from ..backends.columns import BOOLEAN, DATE, DATETIME, STRING, quote, type_class
from ..errors import InvalidInput
from ..repository.metadata import event_codes, participant_of, role_columns
from . import followup, formulas
from .participants import one_row_each, participant_columns, participants
from .randomisation import NUMERIC, accrual, allocation, balance, sequence, weekday
from .results import MISSINGNESS, SCHEMA, CheckResult, Figure
from .trial import Trial, missing_variables

if TYPE_CHECKING:
    from ..backends.sql import Connection

DEFAULTS: dict[str, Any] = {
    "standardised_difference": 0.1,   # |d| above this is an imbalance
    "allocation_p": 0.01,             # chi-square goodness of fit, observed vs planned ratio
    "weekday_p": 0.01,                # chi-square independence, weekday × arm
    "accrual_p": 0.01,                # chi-square independence, period × arm
    "sequence_p": 0.01,               # runs test on the arm sequence ordered by ID
    "accrual_period": "quarter",      # "month", "quarter" or "year"
    "loss_to_follow_up_days": 365,    # alive and last seen more than this before the cut-off
    "missing_difference": 0.10,       # largest difference in missing share between arms
    "missing_min_count": 10,          # ... when at least this many are missing
}
PERIODS = ("month", "quarter", "year")
# Formats tried after ISO 8601 for dates delivered as text, in this order.
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d",
                "%d%b%Y", "%d-%b-%Y", "%d %b %Y")
# Day/month orders that cannot be told apart when every day is 12 or less.
AMBIGUOUS = {"%d/%m/%Y": "%m/%d/%Y", "%m/%d/%Y": "%d/%m/%Y", "%d-%m-%Y": "%m-%d-%Y", "%m-%d-%Y": "%d-%m-%Y"}
# Variables whose missing values one statement counts: a form export has thousands, and DuckDB plans a
# statement of thousands of aggregates slowly and in much memory.
TRUE_WORDS = ("1", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "false", "f", "no", "n")


@dataclass(frozen=True)
class Step:
    """One check, or checks computed together, and the columns they read (see ``results.SCHEMA``)."""

    inputs: frozenset[str]
    run: Callable[[Trial], list[CheckResult]]


def run(con: Connection, relation: str, schema: pa.Schema, metadata: dict,
        thresholds: dict | None = None, only: Callable[[frozenset[str]], bool] | None = None) -> list[CheckResult]:
    """All integrity checks whose roles and design items are declared, in a fixed order.

    ``only`` picks the checks to run by the columns they read (a re-check after
    corrections runs those that read a corrected column); the order stays the same.
    ``relation`` is SQL for a FROM clause: a table or view name, or a table function.
    """
    trial = trial_view(con, relation, schema, metadata, merged_thresholds(thresholds or {}))
    chosen = [step for step in steps(trial) if only is None or only(step.inputs)]
    trial.count_missing = any(MISSINGNESS in step.inputs for step in chosen)
    results: list[CheckResult] = []
    for step in chosen:
        for result in step.run(trial):
            result.inputs = sorted(step.inputs)
            results.append(result)
    return results


def steps(trial: Trial) -> list[Step]:
    """The checks whose roles and design items are declared, in report order, each with its inputs."""
    found: list[Step] = []

    def add(check: Callable[[Trial], list[CheckResult]], *aliases: str, extra: tuple[str, ...] = ()) -> None:
        found.append(Step(frozenset(c for a in aliases for c in trial.columns[a]) | set(extra), check))

    if trial.rows and participant_columns(trial):
        add(lambda t: [participants(t)], "k", extra=tuple(participant_columns(trial)))
    if trial.has("arm"):
        if trial.design.get("planned_ratio"):
            add(lambda t: [allocation(t)], "arm")
        if trial.roles.get("baseline"):
            add(lambda t: [balance(t)], "arm", extra=tuple(trial.roles["baseline"]))
        if trial.has("randomised"):
            add(lambda t: [weekday(t)], "k", "arm", "randomised")
            add(lambda t: [accrual(t)], "arm", "randomised")
        add(lambda t: [sequence(t)], "k", "arm")
    if checks := _date_checks(trial):
        add(lambda t: dates(t.every_row()), "k", *(a for *_, aliases in checks for a in aliases))
    for aliases, check in followup.plan(trial):
        add(check, *aliases)
    if trial.has("arm"):
        add(lambda t: [missing(t)], "arm", extra=(MISSINGNESS, SCHEMA))
    for what, aliases in _publication_plan(trial):
        add(lambda t, what=what: [publication(t, what)], *aliases)
    if text := formulas.columns(trial):  # a column added by a correction may be text: the set of columns counts
        add(lambda t: [formulas.check(t)], extra=(*text, SCHEMA))
    return found


# --- inputs -----------------------------------------------------------------------------------

def merged_thresholds(given: dict) -> dict[str, Any]:
    """Defaults overridden by the repository's; keys for other checks are left alone."""
    merged = dict(DEFAULTS)
    for name, value in given.items():
        if name not in DEFAULTS:
            continue
        if name == "accrual_period":
            if value not in PERIODS:
                raise InvalidInput(f"thresholds.{name}: expected one of {', '.join(PERIODS)}, got {value!r}")
        elif not _is_number(value) or value < 0:
            raise InvalidInput(f"thresholds.{name}: expected a non-negative number, got {value!r}")
        merged[name] = value
    return merged


def trial_view(con, relation: str, schema: pa.Schema, metadata: dict, thresholds: dict) -> Trial:
    """The trial's participants through their roles. A trial of several rows a participant is seen one
    row a participant (their latest follow-up, when a time role is declared), so that every check
    counts participants; ``participants`` checks that what describes a participant agrees on all rows."""
    key = metadata.get("key")
    names = rowkey.columns(key) if isinstance(key, (str, list)) and key else [key]
    for name in names:
        if not isinstance(name, str) or name not in schema.names:
            raise InvalidInput(f"key: column {name!r} is not in the data")
    roles = metadata.get("roles") or {}
    if not isinstance(roles, dict):
        raise InvalidInput(f"roles: expected a mapping of role to column, got {roles!r}")
    codes = event_codes(roles)
    roles = role_columns(roles)
    for listed in ("baseline", "events"):
        if isinstance(roles.get(listed), str):
            roles[listed] = [roles[listed]]
    participant = participant_of(key, metadata.get("participant"))
    design = _design(metadata.get("design") or {})
    _check_columns(roles, schema)
    rows = None
    if rowkey.composite(key):
        rows, relation = relation, one_row_each(con, relation, key, participant, roles.get("time"))
    trial = Trial(con, relation, schema, participant, roles, design, thresholds,
                  event_codes=codes, rows=rows, row_key=key)
    trial.select["k"], trial.columns["k"] = quote(participant), [participant]
    if roles.get("arm"):
        trial.select["arm"], trial.columns["arm"] = quote(roles["arm"]), [roles["arm"]]
    _add_dates(trial)
    _add_indicators(trial)
    return trial


def version_view(version, metadata: dict, thresholds: dict) -> Trial:
    """``trial_view`` of a stored version's parts; an error names the version (``t@v2: roles.arm: …``)."""
    from ..backends import parquet
    from ..backends.sql import connect

    files = version.files()
    con = connect(progress_bar=False)
    con.sql("SELECT * FROM read_parquet($files, union_by_name = true)",
            params={"files": [str(f) for f in files]}).create_view("data")
    try:
        return trial_view(con, "data", parquet.read_schema(files[0]), metadata, thresholds)
    except InvalidInput as exc:
        con.close()
        raise InvalidInput(f"{version.record.trial}@{version.record.version}: {exc}") from None


def _check_columns(roles: dict[str, Any], schema: pa.Schema) -> None:
    """Every declared role must name a column of the data."""
    for role, value in roles.items():
        names = value if isinstance(value, list) else [value]
        for name in names:
            if not isinstance(name, str):
                raise InvalidInput(f"roles.{role}: expected a column name, got {name!r}")
            if name not in schema.names:
                raise InvalidInput(f"roles.{role}: column {name!r} is not in the data")


def _design(design: Any) -> dict[str, Any]:
    """The design items, with the cut-off as a date, ratios positive and published figures whole numbers."""
    if not isinstance(design, dict):
        raise InvalidInput(f"design: expected a mapping of design items, got {design!r}")
    design = dict(design)
    if design.get("cutoff") is not None:
        design["cutoff"] = _as_date(design["cutoff"], "design.cutoff")
    ratios = design.get("planned_ratio") or {}
    if not isinstance(ratios, dict):
        raise InvalidInput(f"design.planned_ratio: expected a ratio per arm, e.g. {{A: 1, B: 1}}, got {ratios!r}")
    for arm, ratio in ratios.items():
        if not _is_number(ratio) or ratio <= 0:
            raise InvalidInput(f"design.planned_ratio: arm {arm!r} has ratio {ratio!r}, expected a positive number")
    for what, figures in (design.get("publication") or {}).items():
        counts = figures.values() if isinstance(figures, dict) else [figures]
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
            raise InvalidInput(f"design.publication.{what}: expected a count, or a count per arm, got {figures!r}")
    return design


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{where}: {value!r} is not a date (expected YYYY-MM-DD)") from None


def _add_dates(trial: Trial) -> None:
    single = [("randomised", "randomised"), ("death", "death"), ("last_contact", "last_contact")]
    events = [(f"event_{i}", "events", name) for i, name in enumerate(trial.roles.get("events") or [])]
    for alias, role in single:
        if trial.roles.get(role):
            _add_date(trial, alias, role, trial.roles[role])
    for alias, role, name in events:
        _add_date(trial, alias, role, name)
        trial.events.append(alias)


def _add_date(trial: Trial, alias: str, role: str, column: str) -> None:
    kind = type_class(trial.schema.field(column).type)
    c = quote(column)
    if kind == DATE:
        expr = c
    elif kind == DATETIME:
        expr = f"CAST({c} AS DATE)"
    elif kind == STRING:
        expr = _parse_dates(trial, role, column)
    else:
        raise InvalidInput(f"roles.{role}: column {column!r} is {kind}, not a date")
    trial.select[alias], trial.columns[alias] = expr, [column]
    trial.labels[alias] = f"{'event' if role == 'events' else role.replace('_', ' ')} ({column})"


def _parse_dates(trial: Trial, role: str, column: str) -> str:
    """The SQL reading a string column as dates, in the one format all its values follow.

    Formats are tried on the distinct values only: a trial has far fewer
    distinct dates than participants, and trying ten formats on every row costs.
    """
    text = f"nullif(trim(CAST({quote(column)} AS VARCHAR)), '')"
    parsers = {"ISO": "CAST(try_cast({s} AS TIMESTAMP) AS DATE)"}
    parsers |= {fmt: f"CAST(try_strptime({{s}}, '{fmt}') AS DATE)" for fmt in DATE_FORMATS}
    counts = ", ".join(f"count(*) FILTER (WHERE {p.format(s='s')} IS NULL)" for p in parsers.values())
    distinct = f"(SELECT DISTINCT {text} AS s FROM {trial.relation} WHERE {text} IS NOT NULL)"
    failures = dict(zip(parsers, trial.con.sql(f"SELECT count(*), {counts} FROM {distinct}").fetchall()[0][1:]))
    best = min(parsers, key=lambda f: failures[f])  # the first of the fewest failures
    parse = parsers[best].format(s=text)
    if failures[best]:
        key, value = trial.con.sql(f"SELECT {quote(trial.key)}, {text} FROM {trial.relation} "
                                   f"WHERE {text} IS NOT NULL AND {parse} IS NULL ORDER BY 1 LIMIT 1").fetchall()[0]
        raise InvalidInput(f"roles.{role}: column {column!r} has values that are not dates, "
                           f"first at key {key!r}: {value!r}")
    if best in AMBIGUOUS and failures[AMBIGUOUS[best]] == 0:
        sample = trial.con.sql(f"SELECT {text} FROM {trial.relation} WHERE {text} IS NOT NULL LIMIT 1").fetchall()
        raise InvalidInput(f"roles.{role}: column {column!r} has dates like {sample[0][0]!r} that read as "
                           "day/month and as month/day; store them as YYYY-MM-DD")
    return parse


def _add_indicators(trial: Trial) -> None:
    """Death flag and event status as booleans; time as a number; ``dead`` from whatever says so."""
    if trial.roles.get("death_flag"):
        trial.select["flag"] = _indicator(trial, "death_flag", trial.roles["death_flag"])
        trial.columns["flag"] = [trial.roles["death_flag"]]
    if trial.roles.get("status"):
        trial.select["status"] = _coded(trial, trial.roles["status"], trial.event_codes) \
            if trial.event_codes is not None else _indicator(trial, "status", trial.roles["status"])
        trial.columns["status"] = [trial.roles["status"]]
    if trial.roles.get("time"):
        column = trial.roles["time"]
        kind = type_class(trial.schema.field(column).type)
        if kind not in NUMERIC:
            raise InvalidInput(f"roles.time: column {column!r} is {kind}, not a number of days")
        trial.select["time"], trial.columns["time"] = f"CAST({quote(column)} AS DOUBLE)", [column]
    said = [f"{trial.select['death']} IS NOT NULL"] if trial.has("death") else []
    said += [f"coalesce({trial.select['flag']}, false)"] if trial.has("flag") else []
    trial.select["dead"] = " OR ".join(f"({s})" for s in said) if said else "false"
    trial.columns["dead"] = [c for alias in ("death", "flag") for c in trial.columns.get(alias, [])]


def _indicator(trial: Trial, role: str, column: str) -> str:
    """A 0/1, boolean or yes/no column as SQL booleans (blank is missing); any other value is refused."""
    c = quote(column)
    kind = type_class(trial.schema.field(column).type)
    if kind == BOOLEAN:
        return c
    if kind in NUMERIC:
        value, valid, expr = c, f"{c} IN (0, 1)", f"CAST({c} AS DOUBLE) = 1"
    elif kind == STRING:
        value = f"nullif(lower(trim({c})), '')"
        valid = f"{value} IN {TRUE_WORDS + FALSE_WORDS}"
        expr = f"CASE WHEN {value} IN {TRUE_WORDS} THEN true WHEN {value} IN {FALSE_WORDS} THEN false END"
    else:
        raise InvalidInput(f"roles.{role}: column {column!r} is {kind}, not a 0/1 or boolean indicator")
    bad = trial.con.sql(f"SELECT {quote(trial.key)}, {c} FROM {trial.relation} "
                        f"WHERE {value} IS NOT NULL AND NOT ({valid}) ORDER BY 1 LIMIT 1").fetchall()
    if bad:
        codes = trial.sql_values(column)
        raise InvalidInput(f"roles.{role}: column {column!r} must be 0/1 or boolean, "
                           f"first other value at key {bad[0][0]!r}: {bad[0][1]!r}; for a status coded "
                           f"{', '.join(map(str, codes))}, say which are events: roles.{role}: "
                           f"{{column: {column}, event: [...]}} (`ipd roles TRIAL --status {column} --event CODE`)")
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE {expr} END"


def _coded(trial: Trial, column: str, codes: list[Any]) -> str:
    """A status coded by several values (censored/transplant/death as 0/1/2) as SQL booleans: true for the
    event codes, false for the other values, missing when blank. Each event code must be a value of the column."""
    c = quote(column)
    kind = type_class(trial.schema.field(column).type)
    if kind not in (*NUMERIC, STRING):
        raise InvalidInput(f"roles.status: column {column!r} is {kind}, not a coded status")
    values = trial.sql_values(column)
    same = (lambda a, b: _number(a) == _number(b)) if kind in NUMERIC else (lambda a, b: str(a).strip() == str(b))
    absent = [code for code in codes if not any(same(v, code) for v in values)]
    if absent:
        raise InvalidInput(f"roles.status.event: {', '.join(map(repr, absent))} is not a value of column "
                           f"{column!r} (its values: {', '.join(map(str, values[:20]))})")
    if kind in NUMERIC:
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE {c} IN ({', '.join(str(_number(x)) for x in codes)}) END"
    value = f"nullif(trim({c}), '')"
    listed = ", ".join("'" + str(x).replace("'", "''") + "'" for x in codes)
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE {value} IN ({listed}) END"


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --- dates ------------------------------------------------------------------------------------

def dates(trial: Trial) -> list[CheckResult]:
    """Row-level order of dates, and death flag vs death date: every row at fault is named."""
    checks = _date_checks(trial)
    conditions = [c for _, condition, details, _ in checks for c in (condition, *details.values())]
    counts = iter(trial.sql("SELECT " + ", ".join(f"count(*) FILTER (WHERE {c})" for c in conditions) + " FROM t")[0])
    results = []
    for name, condition, details, _ in checks:
        count = next(counts)
        figures = {label: next(counts) for label in details}
        keys = trial.keys(condition)[1] if count else []
        results.append(CheckResult(name=name, kind="integrity", success=count == 0, unexpected_count=count,
                                   unexpected_keys=keys, details=figures))
    return results


def _date_checks(trial: Trial) -> list[tuple[str, str, dict, tuple[str, ...]]]:
    """(name, condition for a participant at fault, {detail: condition}, aliases compared) per date check:
    each pair of dates that must be in order, then the death flag against the death date."""
    cutoff = trial.design.get("cutoff")
    pairs = [("randomised", later) for later in [*trial.events, "death", "last_contact"]]
    pairs += [(event, "last_contact") for event in trial.events]
    pairs += [(earlier, "death") for earlier in [*trial.events, "last_contact"]]
    pairs += [(earlier, "cutoff") for earlier in ["randomised", *trial.events, "death", "last_contact"]]
    checks = []
    for earlier, later in pairs:
        declared = cutoff is not None if later == "cutoff" else trial.has(later)
        if not trial.has(earlier) or not declared:
            continue
        bound = f"DATE '{cutoff.isoformat()}'" if later == "cutoff" else later
        label = f"cut-off ({cutoff.isoformat()})" if later == "cutoff" else trial.labels[later]
        checks.append((f"dates: {trial.labels[earlier]} on or before {label}", f"{earlier} > {bound}",
                       {"compared": f"{earlier} IS NOT NULL AND {bound} IS NOT NULL"},
                       (earlier,) if later == "cutoff" else (earlier, later)))
    if trial.has("death", "flag"):
        checks.append(("dates: death flag agrees with death date",
                       "(flag AND death IS NULL) OR (NOT coalesce(flag, false) AND death IS NOT NULL)",
                       {"flag_without_date": "flag AND death IS NULL",
                        "date_without_flag": "NOT coalesce(flag, false) AND death IS NOT NULL"},
                       ("death", "flag")))
    return checks


# --- missing data and publication -------------------------------------------------------------

def missing(trial: Trial) -> CheckResult:
    """Missing values per variable by arm: missingness that depends on the arm can bias the comparison."""
    if not trial.count_missing:  # the profile was read without the missing values
        trial.count_missing, trial._profile = True, None
    arms, variables = trial.arms(), missing_variables(trial)
    found = {a: (figures[0], *figures[3:]) for a, figures in trial.profile().items() if a is not None}
    difference, least = trial.thresholds["missing_difference"], trial.thresholds["missing_min_count"]
    rows, offenders = [], []
    for i, f in enumerate(variables):
        shares = {a: found[a][i + 1] / found[a][0] for a in arms}
        total = sum(found[a][i + 1] for a in arms)
        if total:  # complete variables are counted in the details, not listed
            rows.append([f.name, *(f"{found[a][i + 1]} ({100 * shares[a]:.1f}%)" for a in arms)])
        spread = max(shares.values()) - min(shares.values()) if shares else 0.0
        if total >= least and spread > difference:
            offenders.append({"variable": f.name, "missing": total,
                              "share_by_arm": {str(a): round(s, 4) for a, s in shares.items()}})
    return CheckResult(
        name="missing data: by arm", kind="integrity", success=not offenders,
        details={"missing_difference": difference, "missing_min_count": least, "offenders": offenders,
                 "complete_variables": len(variables) - len(rows),
                 "participants_by_arm": {str(a): found[a][0] for a in arms},
                 "missing_means": "null, NaN, or an empty string"},
        figures=[Figure("Missing values (n, % of arm) by variable and arm; complete variables not listed",
                        ["variable", *(f"arm {a} (n={found[a][0]})" for a in arms)], rows)])


def _publication_plan(trial: Trial) -> list[tuple[str, tuple[str, ...]]]:
    """What the data can be held against (randomised, events) and the aliases each count reads."""
    published = trial.design.get("publication") or {}
    plan = []
    for what in ("randomised", "events"):
        counted = _published_count(trial, what)
        if published.get(what) is None or counted is None:
            continue
        by_arm = ("arm",) if isinstance(published[what], dict) and trial.has("arm") else ()
        plan.append((what, by_arm + counted[1]))
    return plan


def _published_count(trial: Trial, what: str) -> tuple[str, tuple[str, ...]] | None:
    """The SQL condition for a participant counted in ``what``, and the aliases it reads."""
    if what == "randomised":
        return "true", ()
    event = next((e for e in ("flag", "status") if trial.has(e)), "death" if trial.has("death") else None)
    if event is None:
        return None
    return f"coalesce({event}{' IS NOT NULL' if event == 'death' else ''}, false)", (event,)


def publication(trial: Trial, what: str) -> CheckResult:
    """The data should reproduce the randomised (or event) counts the trial published."""
    counted = _published_count(trial, what)
    return _agreement(trial, what, trial.design["publication"][what], counted[0])


def _agreement(trial: Trial, what: str, published: Any, counted: str) -> CheckResult:
    name = f"publication: {what}" + (" by arm" if isinstance(published, dict) else "")
    if not isinstance(published, dict):  # a total for the whole trial
        observed = trial.sql(f"SELECT count(*) FILTER (WHERE {counted}) FROM t")[0][0]
        rows = [["all", published, observed, observed - published]]
        return CheckResult(name=name, kind="integrity", success=observed == published,
                           details={"published": published, "observed": observed},
                           figures=[Figure(f"{what.capitalize()}: published and observed",
                                           ["arm", "published", "observed", "difference"], rows)])
    if not trial.has("arm"):
        raise InvalidInput(f"design.publication.{what}: figures by arm need roles.arm")
    observed = {str(a): n for a, n in trial.sql(
        f"SELECT arm, count(*) FILTER (WHERE {counted}) FROM t WHERE arm IS NOT NULL GROUP BY arm")}
    wanted = {str(a): n for a, n in published.items()}
    names = list(wanted) + sorted(set(observed) - set(wanted))
    shown = {str(a): a for a in trial.arms()}  # arms as the data spell them
    rows = [[shown.get(a, a), wanted.get(a), observed.get(a, 0),
             None if a not in wanted else observed.get(a, 0) - wanted[a]] for a in names]
    return CheckResult(
        name=name, kind="integrity", success=all(r[1] == r[2] for r in rows),
        details={"published": wanted, "observed": {a: observed.get(a, 0) for a in names}},
        figures=[Figure(f"{what.capitalize()}: published and observed", ["arm", "published", "observed",
                                                                           "difference"], rows)])
