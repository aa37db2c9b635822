"""Reading a delivery of several tables: a folder of files, a zip of files, a workbook of sheets.

Trials deliver baseline, visits, adverse events and labs as tables sharing a participant ID. Each table is
read by ``formats`` as a delivery of one table is (the same checks, the same reader generation); this module
finds the tables, names them, and refuses what would make two tables one name, or a name unusable as a folder.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..errors import InvalidInput
from . import formats

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NAME_RULE = "letters, digits, '_', '-' and '.', starting with a letter or digit"


def read_tables(path: Path, reader: int = 1) -> dict[str, formats.Delivery]:
    """The tables of a delivery, by name, in a fixed order (sorted by name).

    A folder or a zip: each file (member) whose suffix ``formats.READERS`` knows, named by its stem; hidden
    files (and Office's ~$ owner files), a folder's sub-folders and a zip's ``__MACOSX/`` are passed over,
    and a zip's members in sub-folders are taken by their base name. A workbook of several sheets among
    them is refused, not read as its first sheet. A workbook: each sheet holding a cell, named by the
    sheet. Any other file: one table, named by its stem. ``reader`` is as ``formats.read`` takes it.
    """
    formats.check_reader(path, reader)
    if path.is_dir():
        tables = _read_folder(path, reader)
    elif not path.exists():
        raise InvalidInput(f"{path}: no such file or folder")
    elif path.suffix.lower() in formats.SEVERAL_TABLES:
        tables = _read_zip(path, reader)
    elif formats.detect(path) == "excel":
        tables = _read_workbook(path, reader)
    else:
        tables = {_named(str(path), path.stem): formats.read(path, reader)}
    return dict(sorted(tables.items()))


def _read_folder(folder: Path, reader: int) -> dict[str, formats.Delivery]:
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not _hidden(p.name) and p.suffix.lower() in formats.READERS)
    if not files:
        raise InvalidInput(f"{folder}: no table in the folder: ipd reads files ending {_known()} "
                           "(hidden files and sub-folders are passed over)")
    names = _unique(folder, [(_named(str(f), f.stem), f.name) for f in files])
    return {name: _one_table(file, reader) for name, file in zip(names, files)}


def _read_zip(path: Path, reader: int) -> dict[str, formats.Delivery]:
    """Each member is copied out, read and removed in turn, under its base name in a scratch folder: no
    member's own path is ever written to (a zip's names can point anywhere, ``../../etc``)."""
    formats.check_file(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{path}: cannot be read as zip: {exc}") from exc
    with archive, tempfile.TemporaryDirectory(prefix="ipd-tables-") as scratch:
        members = _members(path, archive.infolist())
        names = _unique(path, [(_named(f"{path}, member {m.filename!r}", _base(m).stem), m.filename)
                               for m in members])
        tables = {}
        for name, member in zip(names, members):
            where = f"{path}, member {member.filename!r}"
            copy = Path(scratch) / _base(member).name  # unique: two members of one base name share a stem
            _unzip(archive, member, copy, where)
            try:
                tables[name] = _one_table(copy, reader)
            except InvalidInput as exc:  # said of the scratch copy: said again of the member
                raise InvalidInput(str(exc).replace(str(copy), where)) from exc
            copy.unlink()
    return tables


def _members(path: Path, infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """The zip's members that are tables, in name order; any member whose name leaves the folder refuses the zip."""
    members = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in name.split("/"):
            raise InvalidInput(f"{path}: member {info.filename!r} would be unzipped outside its folder: "
                               "ask for the zip again without it")
        parts = PurePosixPath(name).parts
        if info.is_dir() or "__MACOSX" in parts or any(_hidden(p) for p in parts):
            continue
        if PurePosixPath(name).suffix.lower() in formats.READERS:
            members.append(info)
    if not members:
        raise InvalidInput(f"{path}: no table in the zip: ipd reads files ending {_known()} "
                           "(hidden files and __MACOSX/ are passed over)")
    return sorted(members, key=lambda m: m.filename)


def _hidden(name: str) -> bool:
    """Hidden files, and the owner files Office leaves beside an open workbook (~$labs.xlsx)."""
    return name.startswith((".", "~$"))


def _base(member: zipfile.ZipInfo) -> PurePosixPath:
    return PurePosixPath(PurePosixPath(member.filename.replace("\\", "/")).name)


def _unzip(archive: zipfile.ZipFile, member: zipfile.ZipInfo, copy: Path, where: str) -> None:
    try:
        with archive.open(member) as source, copy.open("wb") as out:
            shutil.copyfileobj(source, out)
    # a damaged member, a password, a compression Python lacks; a full disk is not the zip's fault
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"{where}: cannot be unzipped: {' '.join(str(exc).split())}") from exc


def _read_workbook(path: Path, reader: int) -> dict[str, formats.Delivery]:
    sheets = formats.read_sheets(path, reader)
    if not sheets:
        raise InvalidInput(f"{path}: no table in the workbook: every sheet is empty")
    _unique(path, [(_named(f"{path}, sheet {name!r}", name), f"sheet {name!r}") for name in sheets])
    return sheets


def _one_table(file: Path, reader: int) -> formats.Delivery:
    """A file among several is one table: a workbook of several sheets is refused, not read as its first."""
    if formats.detect(file) != "excel":
        return formats.read(file, reader)
    sheets = formats.read_sheets(file, reader)
    if not sheets:
        raise InvalidInput(f"{file}: every sheet of the workbook is empty")
    if len(sheets) > 1:
        raise InvalidInput(f"{file}: {len(sheets)} sheets hold tables ({', '.join(sheets)}), and a file among "
                           "several tables is one table: give each sheet as its own file, or the workbook alone")
    return next(iter(sheets.values()))


def _named(where: str, name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidInput(f"{where}: {name!r} cannot name a table: rename it with {NAME_RULE}")
    return name


def _unique(path: Path, named: list[tuple[str, str]]) -> list[str]:
    """The names of (name, source) pairs, refusing two sources of one name; names that differ only in case
    are one name too, as folders on the file systems of Windows and macOS."""
    seen: dict[str, tuple[str, str]] = {}
    for name, source in named:
        if name.lower() in seen:
            first, before = seen[name.lower()]
            names = f"named {name!r}" if first == name else \
                f"named {first!r} and {name!r} (one folder on Windows and macOS)"
            raise InvalidInput(f"{path}: two tables {names}: {before} and {source}")
        seen[name.lower()] = (name, source)
    return [name for name, _ in named]


def _known() -> str:
    return ", ".join(sorted(formats.READERS))
