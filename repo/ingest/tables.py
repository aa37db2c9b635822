"""The other tables of a delivery of several (visits, episodes, events, labs beside the participant table).

A delivery of several tables (a folder, a zip, a workbook of several sheets) names its participant table:
the one row a participant, with randomisation and arm, keyed by the participant column alone, which the
trial's key, roles and dictionary describe as for a trial of one table. Every other table is keyed by
columns that include the participant column (``--table-key visits=id,visit``), is stored as Parquet parts
of its own under ``tables/NAME/`` (split by participant, as the participant table is), and is recorded in
the version beside it, with its rows, fingerprint and parts. The keys are remembered in ``dataset.yaml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import formats, rowkey
from ..backends.rowkey import Key
from ..errors import InvalidInput
from ..repository import layout
from ..repository.records import TableRecord
from ..versions.cut import written
from ..versions.parts import parts_for, write_parts
from . import dictionary
from .keys import check_key

if TYPE_CHECKING:
    from ..repository import Repository
    from ..repository.metadata import Metadata


def participant_table(deliveries: dict[str, formats.Delivery], file: Path, chosen: str | None,
                      previous: Metadata | None) -> tuple[str | None, formats.Delivery, dict[str, formats.Delivery]]:
    """The participant table's name (None for a delivery of one table), its rows, and the other tables."""
    known = previous.participant_table if previous else None
    if len(deliveries) == 1 and not known and not chosen:
        return None, next(iter(deliveries.values())), {}
    name = chosen or known
    names = ", ".join(deliveries)
    if name is None:
        raise InvalidInput(f"{file}: holds {len(deliveries)} tables ({names}): name the one of one row a "
                           "participant with --participant-table")
    if name not in deliveries:
        raise InvalidInput(f"{file}: no table {name!r} to be the participant table; the tables are {names}")
    missing = [t for t in (previous.tables if previous else {}) if t not in deliveries]
    if missing:
        raise InvalidInput(f"{file}: no table {missing[0]!r}, which the trial has: a re-delivery holds every table "
                           f"(the tables are {names})")
    return name, deliveries[name], {t: d for t, d in deliveries.items() if t != name}


def keys(others: dict[str, formats.Delivery], given: dict[str, Key], previous: Metadata | None, file: Path,
         participant: str) -> dict[str, Key]:
    """Each other table's key, as given now or remembered; it must include the participant column and name
    one row each."""
    unknown = [name for name in given if name not in others]
    if unknown:
        raise InvalidInput(f"--table-key {unknown[0]}: {file} has no table {unknown[0]!r}"
                           + (f"; its other tables are {', '.join(others)}" if others else ""))
    found: dict[str, Key] = {}
    for name, delivery in others.items():
        key = given.get(name) or ((previous.tables.get(name) or {}).get("key") if previous else None)
        if key is None:
            raise InvalidInput(f"{file}: table {name}: name its key with --table-key {name}={participant},COLUMN "
                               "(the columns that pick one of its rows)")
        key = rowkey.written(rowkey.columns(key))
        if participant not in rowkey.columns(key):
            raise InvalidInput(f"{file}: table {name}: its key {rowkey.label(key)} must include the participant "
                               f"column {participant!r}")
        check_key(delivery.table, key, f"{file} (table {name})", delivery=False)
        found[name] = key
    return found


def write(repo: Repository, trial: str, others: dict[str, formats.Delivery], keys: dict[str, Key],
          participant: str, previous: Metadata | None) -> list[TableRecord]:
    """Write each other table's parts under ``tables/NAME/`` (replacing the folder); their records."""
    folder = repo.root / layout.trial(trial).tables
    shutil.rmtree(folder, ignore_errors=True)
    records = []
    for name, delivery in others.items():
        table = delivery.table
        before = (previous.tables.get(name) or {}) if previous else {}
        nparts = before.get("parts") or parts_for(table.num_rows)
        parts = write_parts(table, keys[name], participant, nparts, repo.root / layout.trial(trial).table_data(name))
        records.append(TableRecord(name=name, key=keys[name], participant=participant, nparts=nparts,
                                   columns=table.column_names, **written(table.schema, parts)))
    return records


def entries(others: dict[str, formats.Delivery], records: list[TableRecord],
            previous: Metadata | None) -> dict[str, dict[str, Any]]:
    """``dataset.yaml``'s ``tables``: each table's key, participant column, parts and dictionary (labels and
    notes a curator wrote kept)."""
    found = {}
    for record in records:
        columns = dictionary.infer(others[record.name])
        before = (previous.tables.get(record.name) or {}) if previous else {}
        if before.get("columns"):
            columns = dictionary.merge_curated(columns, before["columns"])
        found[record.name] = {**{k: v for k, v in before.items() if k not in ("key", "participant", "parts",
                                                                                "columns")},
                              "key": record.key, "participant": record.participant, "parts": record.nparts,
                              "columns": columns}
    return found


def suite_metadata(entry: dict[str, Any]) -> dict[str, Any]:
    """What a table's baseline suite is built from: its key and dictionary."""
    return {"key": entry["key"], "columns": entry["columns"]}
