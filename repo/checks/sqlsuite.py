"""A GX suite's common expectations evaluated as DuckDB SQL, in one aggregate pass.

GX's pandas engine holds the whole table in memory (about 44 s and 5 GB for
ten million rows) and its SQL path does not work on DuckDB in GX 1.24. The
common expectation types are counts and extremes, so ipd evaluates them
itself: every figure of every supported expectation is one aggregate (with a
FILTER clause) of a single SELECT. A second, smaller one counts distinct
values, the cheapest way the first one's figures allow, and lists the keys of
the rows at fault of the failing row-level expectations. Only a column with
repeated values costs two queries more: to count its rows at fault and list them.

GX stays the reference: the results follow its pandas engine (nulls and NaN
are missing values and are skipped except by the null expectations;
``mostly`` is the share of the rows considered; pair and compound
expectations drop rows by ``ignore_row_if``), and ``tests/test_expectations_engine.py``
checks them against GX. Whatever cannot be expressed exactly (other types,
``row_condition``, suite parameters, argument types GX would coerce or
refuse, regular expressions whose Python and RE2 meanings may differ on the
data at hand) yields None, and the caller runs it through GX.

Dates and times are compared as timestamps, with ISO strings ("2020-01-31",
"2020-01-31T08:00:00") in the arguments, as the suites written by ipd hold
them. Here GX 1.24 is no reference: its pandas engine cannot compare a
``datetime.date`` column with a datetime bound, a timestamp column with a
date bound, nor take the minimum of a date column with missing values, and
its ``to_be_in_set`` never matches a date column against ISO strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..backends import rowkey
from ..backends.columns import (
    BOOLEAN,
    DATE,
    DATETIME,
    INTEGER,
    NUMBER,
    STRING,
    type_class,
)
from ..backends.rowkey import Key
from ..backends.sql import translated
from ..errors import InvalidInput, QueryError
from .results import MAX_KEYS, CheckResult
from .sqlvalues import (
    NUMERIC,
    TEMPORAL,
    Unsupported,
    as_integer,
    as_number,
    as_time,
    bound,
    column_sql,
    comparable_sql,
    flag,
    in_range,
    literal,
    mostly_share,
    plain,
    range_sql,
)
from .suite import referenced_columns

if TYPE_CHECKING:
    from ..backends.sql import Connection

SCALAR = (INTEGER, NUMBER, STRING, BOOLEAN, DATE, DATETIME)
# Distinct integers are counted in a bitmap of their range when it is at most this wide (DuckDB's
# bitstring_agg refuses ranges of a few billion; a bitmap of 10^9 bits holds 125 MB per thread).
BITMAP_BITS_PER_VALUE, BITMAP_FLOOR, BITMAP_MAX = 8, 1 << 20, 10**9

AGGREGATES = 200  # aggregates a SELECT (see Scan._select)
KEY_QUERIES = 50  # failing expectations whose keys one query lists (see _keys)

BOUNDS = ("min_value", "max_value", "strict_min", "strict_max")
ALLOWED = {
    "expect_column_to_exist": ("column", "column_index"),
    "expect_column_values_to_not_be_null": ("column", "mostly"),
    "expect_column_values_to_be_null": ("column", "mostly"),
    "expect_column_values_to_be_unique": ("column", "mostly"),
    "expect_column_values_to_be_between": ("column", "mostly", *BOUNDS),
    "expect_column_values_to_be_in_set": ("column", "value_set", "mostly"),
    "expect_column_values_to_not_be_in_set": ("column", "value_set", "mostly"),
    "expect_column_values_to_match_regex": ("column", "regex", "mostly"),
    "expect_column_value_lengths_to_be_between": ("column", "mostly", *BOUNDS),
    "expect_column_pair_values_a_to_be_greater_than_b": ("column_A", "column_B", "or_equal", "ignore_row_if", "mostly"),
    "expect_compound_columns_to_be_unique": ("column_list", "ignore_row_if", "mostly"),
    "expect_table_row_count_to_equal": ("value",),
    "expect_table_row_count_to_be_between": BOUNDS,
    "expect_table_columns_to_match_set": ("column_set", "exact_match"),
    "expect_column_min_to_be_between": ("column", *BOUNDS),
    "expect_column_max_to_be_between": ("column", *BOUNDS),
    "expect_column_mean_to_be_between": ("column", *BOUNDS),
}
SUPPORTED: frozenset[str] = frozenset(ALLOWED)
# Arguments that do not change the verdict (row_condition does, and is refused unless empty).
NEUTRAL = frozenset({"result_format", "catch_exceptions", "include_config", "meta", "batch_id",
                     "row_condition", "condition_parser"})

# Pattern parts whose meaning differs between Python's re (GX) and RE2 (DuckDB), and a cheap
# test for the values on which they may: shorthand classes and flags on non-ASCII text
# (Unicode digits, letters, spaces, case folding); \s also on the ASCII controls Python
# counts as spaces; `$` on values with a line break (Python's matches before a final one).
TEXT_GUARDS = (
    (re.compile(r"\\[dDwWsSbB]|\(\?[a-zA-Z]"), "strlen({v}) <> length({v})"),
    (re.compile(r"\\[sS]"), r"regexp_matches({v}, '[\x0b\x1c-\x1f]')"),
    (re.compile(r"\$"), "contains({v}, chr(10))"),
)
# Written the same but meaning different things in the two dialects ({,n}; POSIX classes).
DIALECT_TRAPS = ("{,", "[:")


@dataclass
class Scan:
    """The aggregate SELECT over the relation (each distinct expression once, named a0, a1, …), and a
    second, smaller one for what the first one's figures decide (named b0, b1, …, and k0, k1, … for
    the keys of the rows at fault)."""

    con: Connection
    relation: str
    fields: dict[str, pa.Field]
    aliases: dict[str, str] = field(default_factory=dict)
    later: dict[str, Callable[[dict[str, Any]], str]] = field(default_factory=dict)

    def add(self, sql: str) -> str:
        return self.aliases.setdefault(sql, f"a{len(self.aliases)}")

    def add_later(self, build: Callable[[dict[str, Any]], str]) -> str:
        """An aggregate of the second SELECT, whose SQL ``build`` writes from the first one's values."""
        alias = f"b{len(self.later)}"
        self.later[alias] = build
        return alias

    def run(self) -> dict[str, Any]:
        return self._select(self.aliases.items())

    def run_later(self, values: dict[str, Any], more: dict[str, str]) -> dict[str, Any]:
        return self._select([*((build(values), alias) for alias, build in self.later.items()),
                             *((sql, alias) for alias, sql in more.items())])

    def _select(self, expressions: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """The aggregates' values, AGGREGATES of them a SELECT: a suite of thousands of columns would
        otherwise be one statement of tens of thousands of aggregates, which DuckDB cannot plan in memory."""
        expressions = list(expressions)
        values: dict[str, Any] = {}
        for start in range(0, len(expressions), AGGREGATES):
            batch = expressions[start:start + AGGREGATES]
            select = ", ".join(f"{sql} AS {alias}" for sql, alias in batch)
            row = self.con.sql(f"SELECT {select} FROM {self.relation}").fetchall()[0]
            values.update(zip((alias for _, alias in batch), row))
        return values

    def column(self, kwargs: dict[str, Any], argument: str = "column") -> pa.Field:
        name = kwargs.get(argument)
        if not isinstance(name, str) or name not in self.fields:
            raise Unsupported
        return self.fields[name]


@dataclass
class Plan:
    """How one expectation is read off the scan; ``unexpected`` selects a row-level one's rows at fault.

    ``later``: ``finish`` needs the second SELECT's values too.
    """

    finish: Callable[[dict[str, Any]], CheckResult | None]
    unexpected: str | None = None
    later: bool = False


def evaluate(con: Connection, relation: str, schema: pa.Schema, key: Key,
             expectations: list[dict]) -> list[CheckResult | None]:
    """One result per expectation, None where GX must decide; unknown columns are refused.

    The first SELECT decides every expectation but uniqueness; the second counts
    distinct values (the cheapest way the first one's figures allow) and lists
    the keys of the rows at fault of the failing ones. Only a column with
    repeated values costs more: its rows at fault are counted and listed apart.
    """
    fields = {f.name: f for f in schema}
    _check_columns(expectations, fields)
    scan = Scan(con, relation, fields)
    plans = [_plan(scan, expectation) for expectation in expectations]
    values = scan.run()
    results = [plan.finish(values) if plan and not plan.later else None for plan in plans]
    failing = _failing(plans, results)
    k = rowkey.sql(key)
    values |= scan.run_later(values, {f"k{i}": f"min({k}, {MAX_KEYS}) FILTER (WHERE {where})"
                                      for i, where in failing.items()})
    for i in failing:
        results[i].unexpected_keys = list(values[f"k{i}"] or [])
    late = [i for i, plan in enumerate(plans) if plan and plan.later]
    for i in late:
        results[i] = plans[i].finish(values)
    for i, keys in _keys(con, relation, key, _failing(plans, results, late)).items():
        results[i].unexpected_keys = keys
    return results


def _failing(plans: list[Plan | None], results: list[CheckResult | None],
             among: Iterable[int] | None = None) -> dict[int, str]:
    """Failing row-level expectations (of those ``among``) and the condition selecting their rows at fault."""
    return {i: plans[i].unexpected for i in (range(len(plans)) if among is None else among)
            if plans[i] and plans[i].unexpected and results[i] and not results[i].success
            and results[i].unexpected_count}


def _check_columns(expectations: list[dict], fields: dict[str, pa.Field]) -> None:
    for number, expectation in enumerate(expectations, start=1):
        for name in referenced_columns(expectation):
            if name not in fields:
                raise InvalidInput(f"expectation {number} ({expectation['type']}) names unknown column {name!r}")


def _plan(scan: Scan, expectation: dict) -> Plan | None:
    kind, kwargs = expectation.get("type"), expectation.get("kwargs") or {}
    if kind not in SUPPORTED:
        return None
    try:
        _check_arguments(kind, kwargs)
        return PLANNERS[kind](scan, kwargs, result_name(expectation))
    except Unsupported:
        return None


def _check_arguments(kind: str, kwargs: dict[str, Any]) -> None:
    """Only arguments this module understands, and no suite parameters ({"$PARAMETER": …})."""
    if kwargs.get("row_condition"):
        raise Unsupported
    for name, value in kwargs.items():
        if name in NEUTRAL:
            continue
        if (name not in ALLOWED[kind] and value is not None) or isinstance(value, dict):
            raise Unsupported


def result_name(expectation: dict) -> str:
    """``type(columns)``, e.g. "expect_column_values_to_be_between(age)"; the type alone for a table."""
    kwargs = expectation.get("kwargs") or {}
    if isinstance(kwargs.get("column"), str):
        names = [kwargs["column"]]
    elif isinstance(kwargs.get("column_A"), str) and isinstance(kwargs.get("column_B"), str):
        names = [kwargs["column_A"], kwargs["column_B"]]
    elif isinstance(kwargs.get("column_list"), list):
        names = [str(n) for n in kwargs["column_list"]]
    else:
        names = []
    kind = str(expectation.get("type"))
    return f"{kind}({', '.join(names)})" if names else kind


# --- row-level expectations ---------------------------------------------------------------------

def _rows(scan: Scan, name: str, unexpected: str, considered: str | None, mostly: float,
          missing: bool = True, count: Callable[[dict[str, Any]], int] | None = None) -> Plan:
    """A row-level expectation as GX counts it: ``unexpected`` among the ``considered`` rows.

    ``count`` reads the number of unexpected rows off the scan when counting
    them there would cost more than telling whether there are any.
    """
    total = scan.add("count(*)")
    among = scan.add(f"count(*) FILTER (WHERE {considered})") if considered else total
    if count is None:
        bad = scan.add(f"count(*) FILTER (WHERE {unexpected})")
        count = lambda values: int(values[bad])  # noqa: E731

    def finish(values: dict[str, Any]) -> CheckResult:
        n, m, u = int(values[total]), int(values[among]), count(values)
        # GX's _mostly_success, in the same float arithmetic; nothing to consider is a success.
        success = m == 0 or (float(m) - float(u)) / float(m) >= mostly
        details = {"element_count": n, "missing_count": n - m if missing else None,
                   "unexpected_percent": u / m * 100 if m else None}
        return CheckResult(name=name, success=success, unexpected_count=u,
                           details={k: v for k, v in details.items() if v is not None})

    return Plan(finish, unexpected)


def _column_rows(scan: Scan, kwargs: dict, name: str, f: pa.Field, expected: str,
                 count: Callable[[dict[str, Any]], int] | None = None) -> Plan:
    """A column-map expectation: missing values are skipped, the others must satisfy ``expected``."""
    value = column_sql(f)
    present = f"{value} IS NOT NULL"
    return _rows(scan, name, f"{present} AND NOT coalesce({expected}, FALSE)", present, mostly_share(kwargs),
                 count=count)


def _not_null(scan: Scan, kwargs: dict, name: str) -> Plan:
    return _rows(scan, name, f"{column_sql(scan.column(kwargs))} IS NULL", None, mostly_share(kwargs), missing=False)


def _null(scan: Scan, kwargs: dict, name: str) -> Plan:
    return _rows(scan, name, f"{column_sql(scan.column(kwargs))} IS NOT NULL", None, mostly_share(kwargs), missing=False)


def _unique(scan: Scan, kwargs: dict, name: str) -> Plan:
    """Every copy of a repeated value is unexpected (pandas' duplicated(keep=False)).

    The second SELECT counts distinct values: as many as present values means
    no copies, and a key column is nearly always so. Only when some value
    repeats does another query count the rows holding one (every copy, not the
    extra ones), and one more list them.
    """
    f = scan.column(kwargs)
    if type_class(f.type) not in SCALAR:
        raise Unsupported
    value = column_sql(f)
    repeated = (f"SELECT {value} FROM {scan.relation} WHERE {value} IS NOT NULL "
                f"GROUP BY 1 HAVING count(*) > 1")
    expected = f"{value} NOT IN ({repeated})"
    present = scan.add(f"count(*) FILTER (WHERE {value} IS NOT NULL)")  # the same aggregate _column_rows adds
    distinct = scan.add_later(_distinct(scan, f, present))
    unexpected = f"{value} IS NOT NULL AND NOT coalesce({expected}, FALSE)"

    def count(values: dict[str, Any]) -> int:
        if values[distinct] == values[present]:
            return 0
        return int(scan.con.sql(f"SELECT count(*) FILTER (WHERE {unexpected}) FROM {scan.relation}").fetchall()[0][0])

    plan = _column_rows(scan, kwargs, name, f, expected, count)
    plan.later = True
    return plan


def _distinct(scan: Scan, f: pa.Field, present: str) -> Callable[[dict[str, Any]], str]:
    """SQL counting the column's distinct values: for integers in a range not much wider than their
    number, a bitmap of the range (a third of the time of hashing ten million keys)."""
    value = column_sql(f)
    if type_class(f.type) != INTEGER:
        return lambda values: f"count(DISTINCT {value})"
    low, high = scan.add(f"min({value})"), scan.add(f"max({value})")

    def build(values: dict[str, Any]) -> str:
        lo, hi = values[low], values[high]
        if lo is None or hi - lo >= min(BITMAP_BITS_PER_VALUE * values[present] + BITMAP_FLOOR, BITMAP_MAX):
            return f"count(DISTINCT {value})"
        return f"bit_count(bitstring_agg({value}, {lo}, {hi}))"

    return build


def _between(scan: Scan, kwargs: dict, name: str) -> Plan:
    f = scan.column(kwargs)
    low, high = bound(kwargs.get("min_value"), f), bound(kwargs.get("max_value"), f)
    if low is None and high is None or low is not None and high is not None and low > high:
        raise Unsupported  # GX refuses both
    expected = range_sql(comparable_sql(f), low, high, flag(kwargs, "strict_min"), flag(kwargs, "strict_max"))
    return _column_rows(scan, kwargs, name, f, expected)


def _set_sql(f: pa.Field, value_set: Any) -> tuple[str, list[str]]:
    """The column and the set's members as SQL of one type; members that are None match nothing."""
    if not isinstance(value_set, list):
        raise Unsupported
    members = [v for v in value_set if v is not None]
    kind = type_class(f.type)
    if kind == STRING and all(isinstance(v, str) for v in members):
        return column_sql(f), [literal(v) for v in members]
    if kind == BOOLEAN and all(isinstance(v, bool) for v in members):
        return column_sql(f), [literal(v) for v in members]
    if kind == INTEGER and all(isinstance(v, int) and not isinstance(v, bool) for v in members):
        return column_sql(f), [literal(v) for v in members]
    if kind in NUMERIC:
        return f"CAST({column_sql(f)} AS DOUBLE)", [literal(as_number(v)) for v in members]
    if kind in TEMPORAL:
        return comparable_sql(f), [literal(as_time(v)) for v in members]
    raise Unsupported


def _in_set(scan: Scan, kwargs: dict, name: str) -> Plan:
    f = scan.column(kwargs)
    column, members = _set_sql(f, kwargs.get("value_set"))
    expected = f"{column} IN ({', '.join(members)})" if members else "FALSE"
    return _column_rows(scan, kwargs, name, f, expected)


def _not_in_set(scan: Scan, kwargs: dict, name: str) -> Plan:
    f = scan.column(kwargs)
    column, members = _set_sql(f, kwargs.get("value_set"))
    expected = f"{column} NOT IN ({', '.join(members)})" if members else "TRUE"
    return _column_rows(scan, kwargs, name, f, expected)


def _regex(scan: Scan, kwargs: dict, name: str) -> Plan:
    """Python's re.search as RE2's regexp_matches, where the two agree on this pattern and these data."""
    f = scan.column(kwargs)
    pattern = kwargs.get("regex")
    if type_class(f.type) != STRING or not isinstance(pattern, str) or any(t in pattern for t in DIALECT_TRAPS):
        raise Unsupported
    _check_pattern(scan.con, pattern)
    value = column_sql(f)
    plan = _column_rows(scan, kwargs, name, f, f"regexp_matches({value}, {literal(pattern)})")
    guards = [scan.add(f"count(*) FILTER (WHERE {test.format(v=value)})")
              for construct, test in TEXT_GUARDS if construct.search(pattern)]
    if guards:  # on values where the two dialects may disagree, GX decides
        finish = plan.finish
        plan.finish = lambda values: None if any(values[g] for g in guards) else finish(values)
    return plan


def _check_pattern(con: Connection, pattern: str) -> None:
    """The pattern must compile in both dialects (lookarounds and backreferences are Python's only)."""
    try:
        re.compile(pattern)
        with translated(f"compiling the pattern {pattern!r}"):
            con.sql("SELECT regexp_matches('', $pattern)", params={"pattern": pattern}).fetchall()
    except (re.error, QueryError) as exc:
        raise Unsupported from exc


def _lengths(scan: Scan, kwargs: dict, name: str) -> Plan:
    f = scan.column(kwargs)
    if type_class(f.type) != STRING:
        raise Unsupported  # GX measures str(value): "1.0" for a float
    low, high = (None if kwargs.get(b) is None else as_integer(kwargs[b]) for b in ("min_value", "max_value"))
    if low is None and high is None:
        raise Unsupported
    expected = range_sql(f"length({column_sql(f)})", low, high, flag(kwargs, "strict_min"), flag(kwargs, "strict_max"))
    return _column_rows(scan, kwargs, name, f, expected)


def _pair_sql(f: pa.Field) -> str:
    return column_sql(f) if type_class(f.type) == STRING else comparable_sql(f)


def _pair_kind(f: pa.Field) -> str:
    kind = type_class(f.type)
    return "number" if kind in NUMERIC else "time" if kind in TEMPORAL else kind


def _greater(scan: Scan, kwargs: dict, name: str) -> Plan:
    """A > B (or >=) row by row; a missing value on either side makes the row unexpected, unless ignored."""
    a, b = scan.column(kwargs, "column_A"), scan.column(kwargs, "column_B")
    if _pair_kind(a) != _pair_kind(b) or _pair_kind(a) not in ("number", "time", STRING):
        raise Unsupported
    va, vb = _pair_sql(a), _pair_sql(b)
    considered = {
        "both_values_are_missing": f"NOT ({va} IS NULL AND {vb} IS NULL)",
        "either_value_is_missing": f"{va} IS NOT NULL AND {vb} IS NOT NULL",
        "neither": None,
    }
    ignore = kwargs.get("ignore_row_if", "both_values_are_missing")
    if ignore not in considered:
        raise Unsupported
    domain = considered[ignore]
    operator = ">=" if flag(kwargs, "or_equal") else ">"
    unexpected = f"NOT coalesce({va} {operator} {vb}, FALSE)"
    if domain:
        unexpected = f"{domain} AND {unexpected}"
    return _rows(scan, name, unexpected, domain, mostly_share(kwargs))


def _compound(scan: Scan, kwargs: dict, name: str) -> Plan:
    """Every row whose combination of values recurs among the rows considered (missing values equal)."""
    names = kwargs.get("column_list")
    if not isinstance(names, list) or len(names) < 2:
        raise Unsupported  # GX wants two columns at least
    fields = [scan.column({"column": n}) for n in names]
    if any(type_class(f.type) not in SCALAR for f in fields):
        raise Unsupported
    values = [column_sql(f) for f in fields]
    considered = {
        "all_values_are_missing": "NOT (" + " AND ".join(f"{v} IS NULL" for v in values) + ")",
        "any_value_is_missing": " AND ".join(f"{v} IS NOT NULL" for v in values),
        "never": None,
    }
    ignore = kwargs.get("ignore_row_if", "all_values_are_missing")
    if ignore not in considered:
        raise Unsupported
    domain = considered[ignore]
    row = "struct_pack(" + ", ".join(f"c{i} := {v}" for i, v in enumerate(values)) + ")"
    where = f" WHERE {domain}" if domain else ""
    repeated = f"SELECT {row} FROM {scan.relation}{where} GROUP BY ALL HAVING count(*) > 1"
    unexpected = f"{row} IN ({repeated})"
    if domain:
        unexpected = f"{domain} AND {unexpected}"
    return _rows(scan, name, unexpected, domain, mostly_share(kwargs))


# --- aggregate and table expectations ----------------------------------------------------------

def _aggregate(scan: Scan, name: str, sql: str, low: Any, high: Any, kwargs: dict) -> Plan:
    alias = scan.add(sql)
    strict_min, strict_max = flag(kwargs, "strict_min"), flag(kwargs, "strict_max")

    def finish(values: dict[str, Any]) -> CheckResult:
        observed = values[alias]
        success = in_range(observed, low, high, strict_min, strict_max)
        return CheckResult(name=name, success=success, details={"observed_value": plain(observed)})

    return Plan(finish)


def _extreme(function: str) -> Callable[[Scan, dict, str], Plan]:
    def planner(scan: Scan, kwargs: dict, name: str) -> Plan:
        f = scan.column(kwargs)
        low, high = bound(kwargs.get("min_value"), f), bound(kwargs.get("max_value"), f)
        comparable_sql(f)  # numbers, dates and times only
        return _aggregate(scan, name, f"{function}({column_sql(f)})", low, high, kwargs)

    return planner


def _mean(scan: Scan, kwargs: dict, name: str) -> Plan:
    f = scan.column(kwargs)
    if type_class(f.type) not in NUMERIC:
        raise Unsupported
    low, high = bound(kwargs.get("min_value"), f), bound(kwargs.get("max_value"), f)
    return _aggregate(scan, name, f"avg({column_sql(f)})", low, high, kwargs)


def _row_count_between(scan: Scan, kwargs: dict, name: str) -> Plan:
    low, high = (None if kwargs.get(b) is None else as_integer(kwargs[b]) for b in ("min_value", "max_value"))
    return _aggregate(scan, name, "count(*)", low, high, kwargs)


def _row_count_equal(scan: Scan, kwargs: dict, name: str) -> Plan:
    expected = as_integer(kwargs.get("value"))
    alias = scan.add("count(*)")
    return Plan(lambda values: CheckResult(name=name, success=values[alias] == expected,
                                           details={"observed_value": values[alias]}))


def _columns_match(scan: Scan, kwargs: dict, name: str) -> Plan:
    """The columns as a set; without exact_match, extra columns are allowed (GX reads None as False)."""
    expected = kwargs.get("column_set")
    if not isinstance(expected, list) or not all(isinstance(c, str) for c in expected):
        raise Unsupported
    exact = kwargs.get("exact_match", True)
    actual = set(scan.fields)
    unexpected, missing = sorted(actual - set(expected)), sorted(set(expected) - actual)
    details: dict[str, Any] = {"observed_value": sorted(actual)}
    mismatched = {k: v for k, v in (("unexpected", unexpected), ("missing", missing)) if v}
    if mismatched:
        details["mismatched"] = mismatched
    success = not missing and (not exact or not unexpected)
    return Plan(lambda values: CheckResult(name=name, success=success, details=details))


def _column_exists(scan: Scan, kwargs: dict, name: str) -> Plan:
    """GX ignores a column_index of 0 (it tests the index for truth)."""
    column, index = kwargs.get("column"), kwargs.get("column_index")
    if not isinstance(column, str) or index is not None and not isinstance(index, int):
        raise Unsupported
    names = list(scan.fields)
    if index:
        success = -len(names) <= index < len(names) and names[index] == column
    else:
        success = column in scan.fields
    return Plan(lambda values: CheckResult(name=name, success=success))


PLANNERS: dict[str, Callable[[Scan, dict, str], Plan]] = {
    "expect_column_to_exist": _column_exists,
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_null": _null,
    "expect_column_values_to_be_unique": _unique,
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_not_be_in_set": _not_in_set,
    "expect_column_values_to_match_regex": _regex,
    "expect_column_value_lengths_to_be_between": _lengths,
    "expect_column_pair_values_a_to_be_greater_than_b": _greater,
    "expect_compound_columns_to_be_unique": _compound,
    "expect_table_row_count_to_equal": _row_count_equal,
    "expect_table_row_count_to_be_between": _row_count_between,
    "expect_table_columns_to_match_set": _columns_match,
    "expect_column_min_to_be_between": _extreme("min"),
    "expect_column_max_to_be_between": _extreme("max"),
    "expect_column_mean_to_be_between": _mean,
}


# --- keys of the rows at fault ------------------------------------------------------------------

def _keys(con: Connection, relation: str, key: Key, failing: dict[int, str]) -> dict[int, list]:
    """The first MAX_KEYS keys (in key order) of each failing expectation's rows, in one query."""
    k = rowkey.sql(key)
    branches = [f"(SELECT {i} AS i, {k} AS k FROM {relation} WHERE {where} ORDER BY {k} LIMIT {MAX_KEYS})"
                for i, where in failing.items()]
    found: dict[int, list] = {}
    for start in range(0, len(branches), KEY_QUERIES):  # a re-delivery may fail thousands at once
        union = " UNION ALL ".join(branches[start:start + KEY_QUERIES])
        rows = con.sql(f"SELECT i, list(k ORDER BY k) FROM ({union}) GROUP BY i").fetchall()
        found.update((int(i), list(keys)) for i, keys in rows)
    return found
