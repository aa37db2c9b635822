"""Writing a release package: the files a requestor receives, as the NHLBI asks for them.

The data go out as Parquet, CSV and a SAS transport file; beside them a
README (study overview, files, system requirements, SAS code to read the
transport file, frequency distributions of key variables), the dictionary
with every recoding described, the modification log, the disclosure figures,
a Frictionless ``datapackage.json`` and an RO-Crate ``ro-crate-metadata.json``
(so tools of the wider ecosystem read the package without its README), and a
manifest of SHA-256 hashes, written last. Nothing in a package depends on when
it was built: the only time in it is the approval's (the SAS transport headers
carry it too), so building a release twice gives the same bytes, and a
requestor can check every file against the manifest.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..backends import csvsafe, formats
from ..backends.hashing import sha256_of
from . import crate, datapackage, readme
from .about import About
from .deidentify import RELEASE_ID

if TYPE_CHECKING:
    from .deidentify import Deidentified
    from .disclosure import Disclosure

MANIFEST = "manifest.json"
FORMATS = ("parquet", "csv", "xpt")
SHORT_XPT_FORMAT = 4  # packages from this format on write SAS transport version 5: eight-character names
XPT_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
XPT_HEADER_END = b"HEADER RECORD*******OBS"


@dataclass(frozen=True)
class Manifest:
    trial: str
    version: str
    tier: str
    rows: int
    columns: list[str]
    fingerprint: str  # of the released rows (repo.fingerprint), whatever the file format
    approval: str  # the approved plan's sha256
    files: dict[str, str]  # name -> sha256, every file of the package but the manifest

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls(**json.loads(text))


def data_names(trial: str, table: str = "") -> dict[str, str]:
    """The data files of a release (``table``: of another table of the trial), per format."""
    stem = f"{trial}.{table}" if table else trial
    return {fmt: f"{stem}.{fmt}" for fmt in FORMATS}


def is_data(trial: str, name: str) -> bool:
    """Whether ``name`` is a data file of a release of ``trial`` (of its rows, or of another of its tables): the
    catalogue keeps data files in the release remote, not in git."""
    stem, _, fmt = name.rpartition(".")
    return fmt in FORMATS and (stem == trial or stem.startswith(f"{trial}.") and "/" not in stem)


def other_tables(trial: str, files) -> list[str]:
    """The names of the trial's other tables whose data files are among ``files``."""
    prefix = f"{trial}."
    return sorted(n[len(prefix):-len(".parquet")] for n in files
                  if n.startswith(prefix) and n.endswith(".parquet") and n != f"{trial}.parquet")


def rows_fingerprint(data: str, tables: dict[str, str]) -> str:
    """The fingerprint of the released rows from their tables' (``repo.fingerprint``): the data's alone for a
    release of one table (as it always was), else one over every table by name."""
    import hashlib

    if not tables:
        return data
    every = {"": data, **tables}
    return hashlib.sha256(json.dumps(every, sort_keys=True).encode()).hexdigest()


def package_fingerprint(folder: Path, trial: str, files) -> str:
    """``rows_fingerprint`` of the Parquet files of a package in ``folder`` (``files``: its file names)."""
    from ..backends import parquet
    from ..repository.fingerprint import of_table

    def of(table: str = "") -> str:
        return of_table(parquet.read(folder / data_names(trial, table)["parquet"]))

    return rows_fingerprint(of(), {t: of(t) for t in other_tables(trial, files)})


def write(folder: Path, release: Deidentified, figures: Disclosure, about: About, fingerprint: str,
          advance=lambda n: None) -> Manifest:
    """Write the package into ``folder`` (emptied first); returns its manifest."""
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    table = release.data
    names = data_names(about.trial)
    xpt_version = 5 if about.package_format >= SHORT_XPT_FORMAT else _xpt_version(table.column_names)
    _write_data(folder, table, release.dictionary, names, about, xpt_version)
    advance(1)
    dictionaries = {t.name: t.dictionary for t in release.linked}
    for name, other in release.tables.items():
        _write_data(folder, other, dictionaries[name], data_names(about.trial, name), about, xpt_version,
                    f"{about.title or about.trial}: {name}")
    advance(1)
    every = [*names.values(), *(n for t in release.tables for n in data_names(about.trial, t).values())]
    tables = {"tables": {t.name: _dictionary(t.table, t.dictionary, about) for t in release.linked}} \
        if release.tables else {}
    texts = {
        "dictionary.yaml": yaml.safe_dump({"trial": about.trial, "version": about.version, "tier": about.tier,
                                           "columns": _dictionary(table, release.dictionary, about), **tables},
                                          sort_keys=False, allow_unicode=True, width=100),
        "modifications.csv": _modifications_csv(release),
        "modifications.json": _json([asdict(m) for m in release.modifications]),
        "disclosure.json": _json(figures.to_json()),
    }
    described = [datapackage.NAME, crate.NAME, MANIFEST]  # written after the README, in this order
    texts["README.txt"] = readme.text(about, release, figures, [*every, *texts, "README.txt", *described],
                                      xpt_version=xpt_version)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    hashed = {name: sha256_of(folder / name) for name in every}  # each file hashed once: the data are big
    table_files = {name: data_names(about.trial, name) for name in release.tables}
    (folder / datapackage.NAME).write_text(datapackage.text(folder, release, about, names, RELEASE_ID, hashed,
                                                            table_files), encoding="utf-8")
    hashed |= {name: sha256_of(folder / name) for name in [*texts, datapackage.NAME]}
    descriptions = {name: readme.describe(name, xpt_version) for name in [*hashed, *described]}
    (folder / crate.NAME).write_text(crate.text(folder, about, hashed, descriptions, [MANIFEST],
                                                readme.TIER_WORDS[about.tier][0]), encoding="utf-8")
    advance(1)
    files = dict(sorted({**hashed, crate.NAME: sha256_of(folder / crate.NAME)}.items()))
    manifest = Manifest(about.trial, about.version, about.tier, table.num_rows, table.column_names, fingerprint,
                        about.approval["plan_sha256"], files)
    (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return manifest




def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def _modifications_csv(release: Deidentified) -> str:
    lines = [csvsafe.row(["variable", "action", "parameters", "rows_affected", "rationale"])]
    for m in release.modifications:
        lines.append(csvsafe.row([m.variable, m.action, json.dumps(m.parameters, sort_keys=True, ensure_ascii=False,
                                                                   default=str), m.rows_affected, m.rationale]))
    return "".join(lines)


def _write_data(folder: Path, table, dictionary: list[dict], names: dict[str, str], about: About, xpt_version: int,
                title: str = "") -> None:
    """``table`` in every format, the transport file stamped with the approval's time."""
    labels = {c["name"]: c.get("label") or "" for c in dictionary}
    for fmt, name in names.items():
        formats.write(table, folder / name, fmt, labels, title or about.title or about.trial, xpt_version)
    _stamp_xpt(folder / names["xpt"], about.approval["when"])


def _dictionary(table, dictionary: list[dict], about: About) -> list[dict[str, Any]]:
    """A table's dictionary; from package format 4 on, a variable whose SAS transport name differs (eight
    characters, no dots) says it (``xpt_name``), beside its label that carries the name as released."""
    if about.package_format < SHORT_XPT_FORMAT:
        return dictionary
    renamed = formats.export_names(table.column_names, "xpt")
    return [{**entry, "xpt_name": renamed[entry["name"]]}
            if renamed.get(entry["name"], entry["name"]) != entry["name"] else entry for entry in dictionary]


def _xpt_version(columns: list[str]) -> int:
    """As repo.formats writes it: version 5 when every name fits SAS's old eight characters."""
    return 5 if all(len(c) <= 8 for c in columns) else 8


def _stamp_xpt(path: Path, when: str) -> None:
    """Put the approval's time in the transport file's header, where the writer put the time of writing."""
    import datetime as dt

    stamp = dt.datetime.fromisoformat(when).strftime("%d%b%y:%H:%M:%S").upper().encode()
    with path.open("r+b") as handle:
        head = handle.read(1 << 20)  # the header records: 80 bytes each, and 140 per variable
        end = head.find(XPT_HEADER_END)
        if end < 0:
            return
        handle.seek(0)
        handle.write(XPT_STAMP.sub(stamp, head[:end]))  # the same length: only the stamps change
