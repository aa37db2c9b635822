"""The package's ``datapackage.json``: a Frictionless Data Package describing the data files.

Frictionless tools (``frictionless validate datapackage.json``, the R and
Python ``frictionless`` packages, CKAN, Zenodo) read it to load the CSV with
the right types, check it, and know that ``release_id`` identifies a row. The
CSV is a tabular resource with a Table Schema: every field with its type, the
dictionary's label as its title, how it was recoded as its description, the
value set (and value labels) of categorical fields as ``categories``, the
empty field as the missing value, and the release ID as the primary key.
Names and values are those of the CSV file, where ``csvsafe`` put a quote
before text a spreadsheet would run as a formula; such a field says so.

The Parquet and SAS transport files are listed as plain file resources (with
their SHA-256 and size), not tabular ones: frictionless reads Parquet through
pandas, where a missing integer becomes NaN and fails its own type check, so a
tabular Parquet resource would make ``frictionless validate`` report errors in
correct data; and it cannot read SAS transport files at all. They hold the
same rows as the CSV (the manifest's fingerprint is of the rows).

The descriptor is built with ``frictionless`` and written with sorted keys and
no time but the approval's, so the same release gives the same bytes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import csvsafe
from ..backends.columns import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    NUMBER,
    STRING,
    TIME,
)

if TYPE_CHECKING:
    from .about import About
    from .deidentify import Deidentified

NAME = "datapackage.json"
TYPES = {INTEGER: "integer", NUMBER: "number", DECIMAL: "number", STRING: "string", BOOLEAN: "boolean",
         DATE: "date", DATETIME: "datetime", TIME: "time"}
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "xpt": "application/x-sas-xport"}
MISSING = [""]  # pyarrow writes a missing value as an empty field


def text(folder: Path, release: Deidentified, about: About, names: dict[str, str], primary_key: str,
         sha256s: dict[str, str], table_names: dict[str, dict[str, str]] | None = None) -> str:
    """The descriptor of the package in ``folder``, whose data files (``fmt -> name``, with their SHA-256s) are
    written already; ``table_names``: the data files of each other table of the trial, the same way."""
    import json

    import frictionless

    if release.joined is None:
        described = f"{release.table.num_rows} participants, one row each, identified by {primary_key}"
        keys = [primary_key]
    else:
        keys = [primary_key, *release.joined_key] if release.joined_key is not None else []
        described = (f"{release.data.num_rows} records of {release.table.num_rows} participants, identified by "
                     f"{', '.join(keys or [primary_key])}")
    resources = _resources(frictionless, folder, about.trial, names, release.data, release.dictionary,
                           about.value_labels, keys, described, sha256s)
    for linked in release.linked:
        keys = [primary_key, *linked.key] if linked.key is not None else []
        resources += _resources(frictionless, folder, f"{about.trial}-{linked.name}",
                                (table_names or {})[linked.name], linked.table, linked.dictionary,
                                linked.value_labels, keys,
                                f"table {linked.name}: {linked.table.num_rows} records; {primary_key} is the "
                                f"participant's, as in {names['csv']}", sha256s, (_name(f"{about.trial}-csv"), primary_key))
    package = frictionless.Package(
        name=_name(f"{about.trial}-{about.version}-{about.tier}"),
        title=f"{about.title or about.trial} ({about.version}, {about.tier} release)", version=about.version,
        description=about.notes.strip() or None, created=about.approval["when"],
        resources=resources, **({"licenses": [_license(about.license)]} if about.license else {}))
    descriptor = package.to_descriptor()
    descriptor["id"] = about.identifier  # the spec's globally unique identifier; frictionless has no argument for it
    descriptor["relatedIdentifiers"] = about.relations  # DataCite's, as the RO-Crate states them
    return json.dumps(descriptor, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def _resources(frictionless, folder: Path, stem: str, names: dict[str, str], table, dictionary: list[dict],
               labels: dict[str, dict], keys: list[str], description: str, sha256s: dict[str, str],
               refers: tuple[str, str] | None = None) -> list:
    """The CSV file of one table as a tabular resource, its Parquet and transport files as files beside it;
    ``refers``: the participants' resource and the column by which the table's records refer to it."""
    descriptor = schema_descriptor(table, dictionary, labels, keys)
    if refers is not None:
        resource, column = refers
        descriptor["foreignKeys"] = [{"fields": [csvsafe.cell(column)],
                                      "reference": {"resource": resource, "fields": [csvsafe.cell(column)]}}]
    schema = frictionless.Schema.from_descriptor(descriptor)
    resources = [frictionless.resources.TableResource(
        name=_name(f"{stem}-csv"), path=names["csv"], format="csv", mediatype=MEDIA_TYPES["csv"],
        encoding="utf-8", schema=schema, **_stats(folder / names["csv"], sha256s), description=description)]
    for fmt in ("parquet", "xpt"):
        resources.append(frictionless.resources.FileResource(
            name=_name(f"{stem}-{fmt}"), path=names[fmt], format=fmt, mediatype=MEDIA_TYPES[fmt],
            description=f"the same rows as {names['csv']}", **_stats(folder / names[fmt], sha256s)))
    return resources


def schema_descriptor(table, dictionary: list[dict], labels: dict[str, dict], keys: list[str]) -> dict[str, Any]:
    """A table's Table Schema; ``labels``: its value labels; ``keys``: its primary key (the release ID, then the
    rest of its key; none when a part of its key is not released)."""
    fields = []
    neutralised = set(csvsafe.columns(table))
    unique = len(keys) == 1
    for entry in dictionary:
        name, kind = entry["name"], TYPES.get(entry["type"], "any")
        field: dict[str, Any] = {"name": csvsafe.cell(name), "type": kind}
        if entry.get("label"):
            field["title"] = str(entry["label"])
        described = [str(entry["recoding"])] if entry.get("recoding") and entry["recoding"] != "none" else []
        if name in neutralised:
            described.append(f"in the CSV file, {csvsafe.NOTE}")
        if described:
            field["description"] = "; ".join(described)
        if kind in ("datetime", "time"):
            field["format"] = "any"  # as pyarrow writes them: a space, not a T
        if name in keys:
            field["constraints"] = {"required": True, "unique": True} if unique else {"required": True}
        elif kind in ("string", "integer") and name in labels:
            field["categories"] = _categories(table, name, labels[name], entry.get("recoding"))
        fields.append(field)
    return {"fields": fields, "missingValues": MISSING, **({"primaryKey": [csvsafe.cell(k) for k in keys]}
                                                            if keys else {})}


def _categories(table, name: str, labels: dict[Any, str], recoding: str | None) -> list[dict]:
    """The values the released column holds; labelled as the dictionary labels them when it was not recoded."""
    import pyarrow.compute as pc

    values = sorted(v for v in pc.unique(table[name]).to_pylist() if v is not None)
    unchanged = recoding in (None, "none")
    return [{"value": csvsafe.cell(v), **({"label": labels[v]} if unchanged and labels.get(v) else {})}
            for v in values]


def _stats(path: Path, sha256s: dict[str, str]) -> dict[str, Any]:
    return {"hash": f"sha256:{sha256s[path.name]}", "bytes": path.stat().st_size}


def _license(license: str) -> dict[str, str]:
    return {"path": license} if re.match(r"^https?://", license) else {"name": license}


def _name(text: str) -> str:
    """A Data Package name: lower case letters, digits and ``-._``."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "release"
