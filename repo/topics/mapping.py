"""How one trial maps onto a topic's dictionary: a DuckDB SQL expression a variable, over the trial's columns.

``datasets/TOPIC/mappings/TRIAL.yaml`` (in git)::

    trial: udca
    version: v1                     # the version the mapping was checked against (``ipd topic map``)
    where: trt IS NOT NULL          # which rows: e.g. randomised participants only
    variables:
      patient: id
      arm: trt                      # then recoded by values:
      days: coalesce(least("death.dt", "tx.dt"), "last.dt") - "entry.dt"
      event: CASE WHEN coalesce("death.dt", "tx.dt") IS NULL THEN 0 ELSE 1 END
    values:
      arm: {1: active, 0: placebo}
    published: {participants: 170, events: 44}   # figures from the trial's report, compared by ``ipd topic check``

Renames, unit conversions, recodes (``CASE``), derived outcomes and row filters
are all the one mechanism. A variable the mapping leaves out is missing for the
trial. Checked against the dictionary and the trial's rows, every fault is one
line naming the file and the variable: an unknown column, a value that is not
of the variable's type, a value outside its codes or its range.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..backends.columns import quote
from ..backends.sql import connect, translated
from ..errors import InvalidInput
from .dictionary import POOLED_ID, TRIAL, TopicDictionary, Variable

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection

SETTINGS = ("trial", "version", "where", "variables", "values", "table", "published")
PUBLISHED = ("participants", "events")  # per arm as {arm code: n}, or for the trial as one number


@dataclass(frozen=True)
class Mapping:
    trial: str
    version: str | None
    variables: dict[str, str]  # topic variable -> SQL over the trial's columns
    values: dict[str, dict[Any, Any]] = field(default_factory=dict)  # topic variable -> {value: code}
    where: str | None = None
    table: str | None = None  # another table of the trial (default: its participant table)
    published: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""  # of the file as written

    def to_yaml(self) -> str:
        data: dict[str, Any] = {"trial": self.trial, "version": self.version}
        for name in ("where", "table"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        data["variables"] = dict(self.variables)
        for name in ("values", "published"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def load(path: Path, label: str | None = None) -> Mapping:
    where = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{where}: not a readable YAML file ({' '.join(str(exc).split())})") from exc
    return parse(data, where, hashlib.sha256(text.encode()).hexdigest())


def parse(data: Any, where: str, sha256: str = "") -> Mapping:
    if not isinstance(data, dict) or not isinstance(data.get("variables"), dict) or not data["variables"]:
        raise InvalidInput(f"{where}: a mapping has `variables:`, a SQL expression over the trial's columns for "
                           "each topic variable")
    unknown = [k for k in data if k not in SETTINGS]
    if unknown:
        raise InvalidInput(f"{where}: unknown setting {unknown[0]!r} ({', '.join(SETTINGS)})")
    variables = {}
    for name, expression in data["variables"].items():
        if not isinstance(expression, (str, int, float)) or isinstance(expression, bool) or str(expression) == "":
            raise InvalidInput(f"{where}: variables.{name}: a SQL expression over the trial's columns")
        variables[str(name)] = str(expression)
    values = data.get("values") or {}
    if not isinstance(values, dict) or any(not isinstance(v, dict) for v in values.values()):
        raise InvalidInput(f"{where}: values: for a variable, a mapping of the value the expression gives to the "
                           "topic's code")
    published = data.get("published") or {}
    if not isinstance(published, dict) or any(k not in PUBLISHED for k in published):
        raise InvalidInput(f"{where}: published: the trial's reported {' and '.join(PUBLISHED)}")
    return Mapping(str(data.get("trial") or ""), data.get("version"), variables, values,
                   str(data["where"]) if data.get("where") else None, data.get("table"), published, sha256)


def check_against(mapping: Mapping, dictionary: TopicDictionary, where: str) -> None:
    """Every variable the mapping names is one of the dictionary's, and the participant's is mapped."""
    for name in [*mapping.variables, *mapping.values]:
        if dictionary.variable(name) is None:
            raise InvalidInput(f"{where}: variables.{name}: not a variable of the topic's dictionary "
                               f"({', '.join(dictionary.names)})")
    participant = dictionary.role("participant")
    if participant.name not in mapping.variables:
        raise InvalidInput(f"{where}: variables.{participant.name}: the participant's ID must be mapped")


def pooled_rows(mapping: Mapping, dictionary: TopicDictionary, rows: pa.Table, trial: str, label: str,
                where: str) -> pa.Table:
    """The trial's rows (``rows``, of ``label`` = TRIAL@vN) as the topic's: ``pooled_id``, ``trial`` and every
    variable of the dictionary, typed and checked."""
    check_against(mapping, dictionary, where)
    con = connect(progress_bar=False)
    con.register("trial_rows", rows)
    filtered = "trial_rows"
    if mapping.where:
        with translated(f"{where}: where, over {label}"):
            con.sql(f"SELECT * FROM trial_rows WHERE {mapping.where}").create_view("kept_rows")
            con.sql("SELECT count(*) FROM kept_rows").fetchall()
        filtered = "kept_rows"
    selects = []
    for variable in dictionary.variables:
        expression = _expression(con, mapping, variable, filtered, label, where)
        selects.append(f"{expression} AS {quote(variable.name)}")
    participant = quote(dictionary.role("participant").name)
    text = _literal(trial)
    body = f"SELECT {', '.join(selects)} FROM {filtered}"
    with translated(f"{where}: over {label}"):
        table = con.sql(f"SELECT {text} || ':' || CAST({participant} AS VARCHAR) AS {POOLED_ID}, {text} AS {TRIAL}, "
                        f"* FROM ({body})").to_arrow_table()
    _check_values(con, table, dictionary, where, label)
    return table


def _expression(con: Connection, mapping: Mapping, variable: Variable, relation: str, label: str,
                where: str) -> str:
    """The variable's SQL: the mapping's expression (NULL when unmapped), recoded by its values, cast to type;
    checked on the trial's rows."""
    given = mapping.variables.get(variable.name)
    if given is None:
        return f"CAST(NULL AS {variable.sql_type})"
    expression = f"({given})"
    with translated(f"{where}: variables.{variable.name}, over {label}"):
        con.sql(f"SELECT {expression} FROM {relation} LIMIT 0").fetchall()
    recode = mapping.values.get(variable.name)
    if recode:  # as text on every branch: the codes may be of another type than the values they replace
        cases = " ".join(f"WHEN {expression} = {_literal(old)} THEN {_literal(str(new))}" for old, new in recode.items())
        expression = f"(CASE {cases} ELSE CAST({expression} AS VARCHAR) END)"
    typed = f"TRY_CAST({expression} AS {variable.sql_type})"
    with translated(f"{where}: variables.{variable.name}, over {label}"):
        bad = con.sql(f"SELECT count(*), min(CAST({expression} AS VARCHAR)) FROM {relation} "
                      f"WHERE {expression} IS NOT NULL AND {typed} IS NULL").fetchall()[0]
    if bad[0]:
        raise InvalidInput(f"{where}: variables.{variable.name}: {bad[0]} value(s) over {label} are not of type "
                           f"{variable.type} (e.g. {bad[1]!r})")
    return f"CAST({expression} AS {variable.sql_type})"


def _check_values(con: Connection, table: pa.Table, dictionary: TopicDictionary, where: str, label: str) -> None:
    """Codes within the dictionary's, values within its range, and one row a participant."""
    con.register("pooled", table)
    for variable in dictionary.variables:
        column = quote(variable.name)
        if variable.values is not None:
            allowed = ", ".join(_literal(code) for code in variable.values)
            found = con.sql(f"SELECT CAST({column} AS VARCHAR) AS v, count(*) FROM pooled WHERE {column} IS NOT NULL "
                            f"AND {column} NOT IN ({allowed}) GROUP BY v ORDER BY v LIMIT 1").fetchall()
            if found:
                raise InvalidInput(f"{where}: variables.{variable.name}: value {found[0][0]!r} ({found[0][1]} row(s) "
                                   f"over {label}) is not one of the codes "
                                   f"({', '.join(str(c) for c in variable.values)}); recode it under values:")
        for bound, compare in (("min", "<"), ("max", ">")):
            limit = getattr(variable, bound)
            if limit is None:
                continue
            (n,) = con.sql(f"SELECT count(*) FROM pooled WHERE {column} {compare} {_literal(limit)}").fetchall()[0]
            if n:
                raise InvalidInput(f"{where}: variables.{variable.name}: {n} value(s) over {label} are "
                                   f"{'below the minimum' if bound == 'min' else 'above the maximum'} {limit}")
    participant = quote(dictionary.role("participant").name)
    missing, repeated = con.sql(f"SELECT count(*) FILTER (WHERE {participant} IS NULL), count({participant}) - "
                                f"count(DISTINCT {participant}) FROM pooled").fetchall()[0]
    if missing or repeated:
        raise InvalidInput(f"{where}: variables.{dictionary.role('participant').name}: the participant's ID is "
                           f"missing in {missing} and repeated in {repeated} row(s) over {label}: a topic holds one "
                           "row a participant (filter the rows with where:)")


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
