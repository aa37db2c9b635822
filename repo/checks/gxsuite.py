"""Expectations run by Great Expectations itself, on its pandas engine.

ipd evaluates the common expectation types as SQL (``sqlsuite``); the rest,
and anything those cannot express exactly, go through GX, which stays the
reference for what an expectation means. GX is imported only here and only
when needed: importing it costs seconds.

GX writes "Calculating Metrics" progress bars to stderr, warns through
``warnings`` and logs through ``logging``; a check's output is ipd's report,
so all of it is turned off (progress bars through the data context's
``progress_bars`` setting, the documented switch).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

from ..backends import rowkey
from ..backends.rowkey import Key
from ..errors import InvalidInput
from .results import MAX_KEYS, CheckResult
from .sqlsuite import result_name
from .sqlvalues import plain, python_value

POSITION = "ipd_position"  # added to each expectation's meta to pair GX's results with the suite's order
RESULT_DETAILS = ("element_count", "missing_count", "unexpected_percent", "observed_value")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No warnings and no log records from GX while it runs (its failures are reported as results)."""
    logger = logging.getLogger("great_expectations")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@functools.cache
def context():
    """One ephemeral data context per process, with its progress bars off."""
    with quiet():
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def check_types(expectations: list[dict[str, Any]], numbers: list[int] | None = None) -> None:
    """Refuse expectation types GX does not know, before any data are read for them.

    ``numbers`` are the expectations' places in the suite file, when only some are given.
    """
    with quiet():
        import great_expectations  # noqa: F401  (importing it registers the core expectations)
        from great_expectations.exceptions import ExpectationNotFoundError
        from great_expectations.expectations.registry import get_expectation_impl

    for number, expectation in zip(numbers or range(1, len(expectations) + 1), expectations):
        kind = expectation.get("type")
        try:
            get_expectation_impl(str(kind))
        except ExpectationNotFoundError:
            raise InvalidInput(f"unknown expectation type {kind!r} (expectation {number})") from None


def run(frame_or_table: Any, key: Key, expectations: list[dict[str, Any]], suite_name: str) -> list[CheckResult]:
    """Validate ``expectations`` with GX's pandas engine; one result per expectation, in order."""
    frame = _as_frame(frame_or_table)
    if missing := [c for c in rowkey.columns(key) if c not in frame.columns]:
        raise InvalidInput(f"the data given to GX lack the key column {missing[0]!r}")
    with quiet():
        suite = _suite(expectations, suite_name)
        validation = _validate(frame, key, suite)
    # GX returns results grouped its own way; each carries its expectation's position in its meta.
    by_position = {r.expectation_config.meta[POSITION]: r for r in validation.results}
    return [_result(e, by_position[i], key) for i, e in enumerate(expectations)]


def _as_frame(frame_or_table: Any):
    """A pandas frame as ipd hands data to GX: Arrow's default conversion (dates as ``datetime.date``)."""
    import pyarrow as pa

    if isinstance(frame_or_table, (pa.Table, pa.RecordBatch)):
        return frame_or_table.to_pandas()
    return frame_or_table


def check_arguments(expectation: dict[str, Any]) -> None:
    """Refuse arguments GX would refuse (missing bounds, a bad ``mostly``…), naming the expectation."""
    with quiet():
        _build(expectation, 0)


def _suite(expectations: list[dict[str, Any]], suite_name: str):
    """The suite as GX objects, built one by one: GX's own constructor drops invalid ones silently."""
    import great_expectations as gx

    built = [_build(expectation, position) for position, expectation in enumerate(expectations)]
    return gx.ExpectationSuite(name=suite_name or "suite", expectations=built)


def _build(expectation: dict[str, Any], position: int):
    """One GX expectation, its position in our list kept in its meta."""
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    config = {"type": expectation.get("type"), "kwargs": expectation.get("kwargs") or {},
              "meta": {**(expectation.get("meta") or {}), POSITION: position}}
    try:
        return ExpectationConfiguration(**config).to_domain_obj()
    except Exception as exc:  # GX raises pydantic, its own and plain errors for bad arguments
        # Named, not numbered: the caller may hand GX only part of the suite.
        raise InvalidInput(f"{result_name(expectation)}: invalid arguments: {_one_line(exc)}") from exc


def _one_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in errors())
        except Exception:  # not a pydantic error after all
            pass
    return " ".join(str(exc).split())


def _validate(frame, key: Key, suite):
    """One throw-away pandas data source over ``frame``, validated against the whole suite at once."""
    ctx = context()
    name = f"ipd-{uuid.uuid4().hex}"
    source = ctx.data_sources.add_pandas(name)
    try:
        batch_definition = source.add_dataframe_asset("rows").add_batch_definition_whole_dataframe("all")
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": rowkey.columns(key),
            "return_unexpected_index_query": False,
        })
    finally:
        ctx.data_sources.delete(name)


def _result(expectation: dict[str, Any], validation, key: Key) -> CheckResult:
    result = dict(validation.result or {})
    success = bool(validation.success)
    details = {k: plain(result[k]) for k in RESULT_DETAILS if result.get(k) is not None}
    if isinstance(result.get("details"), dict) and "mismatched" in result["details"]:
        details["mismatched"] = result["details"]["mismatched"]
    error = _exception(validation.exception_info)
    if error:
        details["exception"] = error
    keys = [] if success else _keys(result.get("unexpected_index_list"), key)
    return CheckResult(name=result_name(expectation), success=success,
                       unexpected_count=int(result.get("unexpected_count") or 0),
                       unexpected_keys=keys, details=details, engine="gx")


def _keys(index_list: list[dict] | None, key: Key) -> list[Any]:
    """The keys of the unexpected rows, ordered, at most MAX_KEYS (the count stays exact)."""
    names = rowkey.columns(key)
    rows = [row for row in index_list or [] if isinstance(row, dict) and all(c in row for c in names)]
    keys = [rowkey.value({c: python_value(row[c]) for c in names}, key) for row in rows]
    try:
        keys.sort()
    except TypeError:  # keys of mixed types: keep GX's row order
        pass
    return keys[:MAX_KEYS]


def _exception(info: dict | None) -> str | None:
    """GX's message when computing the expectation raised (its shape differs by where it raised)."""
    if not info:
        return None
    if info.get("raised_exception"):
        return info.get("exception_message")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message")
    return None
