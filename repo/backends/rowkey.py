"""A table's key: one column, or several that together name a row.

A trial with one row per participant is keyed by the participant column, as
``dataset.yaml`` and the version records have always written it (``key: id``).
A trial with several rows per participant (episodes, visits, events) names
the columns that together pick one row (``key: [id, enum]``); one of them is
the participant column. A composite key's value is a tuple in Python, a JSON
list (in the key's column order) in the correction log, diffs and queries, and
a ``row(...)`` in DuckDB, where tuples compare and join as single values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

import pyarrow as pa
import pyarrow.compute as pc

from .columns import quote

Key = Union[str, list[str]]  # as dataset.yaml and the version record write it
SEPARATOR = "\x1f"  # between a composite key's values in its Arrow matching form (``arrow``)


def columns(key: Key) -> list[str]:
    """The key's columns, in order."""
    return [key] if isinstance(key, str) else list(key)


def composite(key: Key) -> bool:
    return not isinstance(key, str) and len(key) > 1


def written(names: list[str]) -> Key:
    """The key as files write it: a single column as its name, so one-column keys read as they always did."""
    return names[0] if len(names) == 1 else list(names)


def sql(key: Key, alias: str = "") -> str:
    """The key as one DuckDB value: the column, or a row of the columns."""
    quoted = [f"{alias}{quote(c)}" for c in columns(key)]
    return quoted[0] if len(quoted) == 1 else f"row({', '.join(quoted)})"


def label(key: Key) -> str:
    """The key's columns for messages: ``id`` or ``(id, enum)``."""
    names = columns(key)
    return names[0] if len(names) == 1 else f"({', '.join(names)})"


def named(key: Key) -> str:
    """The key in messages as they always named a one-column key: ``'id'``, else ``(id, enum)``."""
    names = columns(key)
    return repr(names[0]) if len(names) == 1 else label(key)


def value(record: dict[str, Any], key: Key) -> Any:
    """The key of ``record`` (a mapping of column to value): a value, or a tuple of them."""
    names = columns(key)
    return record[names[0]] if len(names) == 1 else tuple(record[c] for c in names)


def hashable(value: Any) -> Any:
    """A key as read from JSON (a list for a composite key) as a dictionary key (a tuple)."""
    return tuple(value) if isinstance(value, list) else value


def listed(value: Any) -> str:
    """A key value in a list of keys: ``12``, ``P01`` or ``(12, 3)`` (a report read back holds a JSON list)."""
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value)


def shown(value: Any) -> str:
    """A key value for messages: ``12`` or ``(12, 3)``."""
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(repr(v) for v in value) + ")"
    return repr(value)


def arrow(table: pa.Table, key: Key) -> pa.Array | pa.ChunkedArray:
    """The key of each row of ``table`` as one Arrow array, for matching with ``pc.is_in`` and
    ``pc.index_in``: the column itself, or the columns' text joined (Arrow does not match structs)."""
    names = columns(key)
    if len(names) == 1:
        return table.column(names[0])
    return joined([table.column(c) for c in names])


def joined(arrays: list[pa.Array | pa.ChunkedArray]) -> pa.Array | pa.ChunkedArray:
    """Typed key columns as the one text array ``arrow`` matches on."""
    return pc.binary_join_element_wise(*[a.cast(pa.string()) for a in arrays], SEPARATOR)


def parse(given: str | list[str] | dict[str, str] | None, key: Key, kind: Callable[[str], str],
          where: str = "") -> Any:
    """A key as a curator gives it, typed by its columns (``kind`` gives a column's type class): one text
    for a one-column key; for a composite key a text per column, in the key's order (``--key 1 --key 2``)
    or by column name (a CSV's columns). Returns the key as JSON, a tuple for a composite key."""
    from ..errors import InvalidInput
    from .values import parse as parse_text
    from .values import to_json

    names = columns(key)
    if isinstance(given, dict):
        if unknown := [c for c in given if c not in names]:
            raise InvalidInput(f"{where}{unknown[0]!r} is not a key column; the key is {label(key)}")
        absent = [c for c in names if not (given.get(c) or "").strip()]
        if absent:
            raise InvalidInput(f"{where}no value for the key column {absent[0]!r}")
        texts = [given[c] for c in names]
    else:
        texts = [given] if isinstance(given, str) else list(given or [])
    texts = [t for t in texts if t is not None and t.strip()]
    if not texts:
        raise InvalidInput(f"{where}the key is missing")
    if len(texts) != len(names):
        raise InvalidInput(f"{where}key {label(key)} takes {len(names)} value(s), one a column "
                           f"({' '.join('--key ' + c.upper() for c in names)}); got {len(texts)}")
    values = [to_json(parse_text(text, kind(name), f"{where}key {name}")) for name, text in zip(names, texts)]
    if any(v is None for v in values):
        raise InvalidInput(f"{where}the key is missing")
    return values[0] if len(values) == 1 else tuple(values)
