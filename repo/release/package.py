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


def data_names(trial: str) -> dict[str, str]:
    return {fmt: f"{trial}.{fmt}" for fmt in ("parquet", "csv", "xpt")}


def write(folder: Path, release: Deidentified, figures: Disclosure, about: About, fingerprint: str,
          advance=lambda n: None) -> Manifest:
    """Write the package into ``folder`` (emptied first); returns its manifest."""
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    table = release.table
    labels = {c["name"]: c.get("label") or "" for c in release.dictionary}
    names = data_names(about.trial)
    xpt_version = 5 if about.package_format >= SHORT_XPT_FORMAT else _xpt_version(table.column_names)
    for fmt, name in names.items():
        formats.write(table, folder / name, fmt, labels, about.title or about.trial, xpt_version)
        advance(1)
    _stamp_xpt(folder / names["xpt"], about.approval["when"])
    texts = {
        "dictionary.yaml": yaml.safe_dump({"trial": about.trial, "version": about.version, "tier": about.tier,
                                           "columns": _dictionary(release, about)}, sort_keys=False,
                                          allow_unicode=True,
                                          width=100),
        "modifications.csv": _modifications_csv(release),
        "modifications.json": _json([asdict(m) for m in release.modifications]),
        "disclosure.json": _json(figures.to_json()),
    }
    described = [datapackage.NAME, crate.NAME, MANIFEST]  # written after the README, in this order
    texts["README.txt"] = readme.text(about, release, figures, [*names.values(), *texts, "README.txt", *described],
                                      xpt_version=xpt_version)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    hashed = {name: sha256_of(folder / name) for name in names.values()}  # each file hashed once: the data are big
    (folder / datapackage.NAME).write_text(datapackage.text(folder, release, about, names, RELEASE_ID, hashed),
                                           encoding="utf-8")
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


def _dictionary(release: Deidentified, about: About) -> list[dict[str, Any]]:
    """The release's dictionary; from package format 4 on, a variable whose SAS transport name differs (eight
    characters, no dots) says it (``xpt_name``), beside its label that carries the name as released."""
    if about.package_format < SHORT_XPT_FORMAT:
        return release.dictionary
    renamed = formats.export_names(release.table.column_names, "xpt")
    return [{**entry, "xpt_name": renamed[entry["name"]]}
            if renamed.get(entry["name"], entry["name"]) != entry["name"] else entry for entry in release.dictionary]


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
