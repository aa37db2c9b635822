"""A topic's data dictionary: the variables every trial of the topic is harmonised to.

``datasets/TOPIC/topic.yaml`` (in git) names each variable with its type, unit,
label, role and, for a coded variable, its allowed codes (with labels)::

    topic: pbc-treatment
    title: Active treatment vs placebo in primary biliary cirrhosis
    variables:
      patient: {type: integer, role: participant, label: Participant ID within the trial}
      arm: {type: string, role: arm, values: {active: active treatment, placebo: placebo}}
      days: {type: integer, role: outcome_time, unit: days, label: Days to death, transplant or last contact}
      event: {type: integer, role: outcome_status, values: {0: censored, 1: death or transplant}}
      age: {type: number, role: covariate, unit: years, min: 18, max: 100}

The pooled rows carry two columns of their own before the variables: ``trial``
(the trial each row came from) and ``pooled_id`` (``TRIAL:PARTICIPANT``, the
key of the pooled rows, since participant IDs repeat across trials).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..backends.columns import BOOLEAN, DATE, INTEGER, NUMBER, STRING
from ..errors import InvalidInput

TYPES = {INTEGER: "BIGINT", NUMBER: "DOUBLE", STRING: "VARCHAR", DATE: "DATE", BOOLEAN: "BOOLEAN"}
ROLES = ("participant", "arm", "outcome_time", "outcome_status", "covariate")
ONE_EACH = ("participant", "arm", "outcome_time", "outcome_status")  # at most one variable each (participant: one)
TRIAL, POOLED_ID = "trial", "pooled_id"
SETTINGS = ("type", "role", "label", "unit", "values", "min", "max", "description")


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    role: str
    label: str = ""
    unit: str | None = None
    values: dict[Any, str] | None = None  # code -> label; None: not a coded variable
    min: Any = None
    max: Any = None
    description: str = ""

    @property
    def sql_type(self) -> str:
        return TYPES[self.type]


@dataclass(frozen=True)
class TopicDictionary:
    topic: str
    title: str
    variables: list[Variable] = field(default_factory=list)
    notes: str = ""  # how the trials differ, and what pooling them means

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    def role(self, role: str) -> Variable | None:
        return next((v for v in self.variables if v.role == role), None)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def columns(self) -> list[str]:
        """The pooled rows' columns, in order."""
        return [POOLED_ID, TRIAL, *self.names]


def load(path: Path, label: str | None = None) -> TopicDictionary:
    """The dictionary in ``path``, checked; every fault is one line naming the file and the variable."""
    where = label or str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{where}: not a readable YAML file ({' '.join(str(exc).split())})") from exc
    return parse(data, where)


def parse(data: Any, where: str) -> TopicDictionary:
    if not isinstance(data, dict) or not isinstance(data.get("variables"), dict) or not data["variables"]:
        raise InvalidInput(f"{where}: a topic dictionary is a mapping with `variables:`, each variable a mapping of "
                           "its type, role and label")
    variables = [_variable(name, spec, where) for name, spec in data["variables"].items()]
    for role in ONE_EACH:
        named = [v.name for v in variables if v.role == role]
        if len(named) > 1:
            raise InvalidInput(f"{where}: {len(named)} variables have the role {role} ({', '.join(named)}); "
                               "one at most")
    if not any(v.role == "participant" for v in variables):
        raise InvalidInput(f"{where}: no variable has the role participant (the participant's ID within its trial)")
    return TopicDictionary(str(data.get("topic") or ""), str(data.get("title") or ""), variables,
                           str(data.get("notes") or ""))


def _variable(name: Any, spec: Any, where: str) -> Variable:
    at = f"{where}: variables.{name}"
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidInput(f"{at}: a variable's name is letters, digits and '_', not starting with a digit")
    if name in (TRIAL, POOLED_ID):
        raise InvalidInput(f"{at}: {name} is the pooled rows' own column; name the variable otherwise")
    if not isinstance(spec, dict):
        raise InvalidInput(f"{at}: a mapping of its type, role and label")
    unknown = [k for k in spec if k not in SETTINGS]
    if unknown:
        raise InvalidInput(f"{at}: unknown setting {unknown[0]!r} ({', '.join(SETTINGS)})")
    kind, role = spec.get("type"), spec.get("role", "covariate")
    if kind not in TYPES:
        raise InvalidInput(f"{at}.type: {kind!r} is not one of {', '.join(TYPES)}")
    if role not in ROLES:
        raise InvalidInput(f"{at}.role: {role!r} is not one of {', '.join(ROLES)}")
    values = spec.get("values")
    if values is not None:
        values = _codes(values, kind, f"{at}.values")
    if role == "outcome_status" and (values is None or sorted(values) != [0, 1]):
        raise InvalidInput(f"{at}.values: an outcome status is coded 0 (no event, or censored) and 1 (the event)")
    if role == "outcome_time" and kind not in (INTEGER, NUMBER):
        raise InvalidInput(f"{at}.type: an outcome time is a number (of days, months, …), not {kind}")
    return Variable(name, kind, role, str(spec.get("label") or ""), spec.get("unit"), values, spec.get("min"),
                    spec.get("max"), str(spec.get("description") or ""))


def _codes(values: Any, kind: str, at: str) -> dict[Any, str]:
    """The allowed codes, as a list or as code -> label, each of the variable's type."""
    codes = {v: "" for v in values} if isinstance(values, list) else values
    if not isinstance(codes, dict) or not codes:
        raise InvalidInput(f"{at}: the allowed codes, as a list or as a mapping of code to label")
    for code in codes:
        ok = {INTEGER: isinstance(code, int) and not isinstance(code, bool), STRING: isinstance(code, str),
              NUMBER: isinstance(code, (int, float)) and not isinstance(code, bool),
              BOOLEAN: isinstance(code, bool)}.get(kind, False)
        if not ok:
            raise InvalidInput(f"{at}: the code {code!r} is not a value of type {kind}")
    return {code: str(label or "") for code, label in codes.items()}
