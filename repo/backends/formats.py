"""Reading deliveries of every format into Arrow, and writing versions out.

CSV and TSV go through DuckDB's sniffer over the whole file (types, dates in
any common layout); SAS, Stata and SPSS through pyreadstat, which also gives
variable labels and value labels; Excel through pandas/openpyxl (``read`` the first sheet,
``read_sheets`` every one). Deliveries of several tables (a folder, a zip, a workbook) are found and
named by ``tables``, and each table read here, through the same checks as a delivery of one.

R, SAS and SPSS write codes as doubles (PBC's arm is 1.0/2.0): from reader 2
on, a column of whole numbers is stored as integers (``whole_numbers_as_integers``).
Versions keep the reader they were read with, so a rebuild reads as they did.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from ..errors import InvalidInput
from . import csvsafe, parquet
from .sql import connect

if TYPE_CHECKING:
    import pandas as pd

NULL_STRINGS = ["", "NA", "N/A", "NULL", "NaN"]

READERS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv",
    ".xlsx": "excel", ".xlsm": "excel",
    ".parquet": "parquet", ".pq": "parquet",
    ".sas7bdat": "sas7bdat", ".xpt": "xpt",
    ".dta": "dta", ".sav": "sav", ".zsav": "sav",
}
SEVERAL_TABLES = (".zip",)  # deliveries of several tables in one file: read by ``tables``, refused by ``read``
EXPORTS = ("parquet", "csv", "xpt", "dta", "sav")
ARROW_BATCH = 16_384
STATA_LONG = (-2_147_483_647, 2_147_483_620)  # the values Stata's 4-byte "long" holds
INT64 = (-(2**63), 2**63)  # the whole numbers an int64 holds: low <= n < high
# How ingest reads a delivery now; the version record keeps it, and the rebuild reads with the record's. 2 stores
# double columns of whole numbers as integers; 1 (every record without "reader") keeps the types the file gave.
READER = 2


@dataclass
class Delivery:
    """A delivery read into Arrow, with what its format said about the columns."""

    table: pa.Table
    format: str
    labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict] = field(default_factory=dict)
    file_label: str = ""
    unnamed: list[str] = field(default_factory=list)  # names given to columns the delivery left unnamed


def detect(path: Path) -> str:
    fmt = READERS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(READERS))
        if path.suffix.lower() in SEVERAL_TABLES:
            raise InvalidInput(f"{path}: a delivery of several tables: give one table's file; ipd reads {known}")
        raise InvalidInput(f"{path}: unknown file type {path.suffix or '(none)'!r}; ipd reads {known}")
    return fmt


def read(path: Path, reader: int = 1) -> Delivery:
    """The delivery at ``path`` as reader generation ``reader`` reads it (``READER`` for a new version,
    a version record's own to rebuild it; 1, the file's own types, for other tables in delivery formats)."""
    check_reader(path, reader)
    fmt = detect(path)
    check_file(path)
    with _reading(path, fmt):
        delivery = _READ[fmt](path)
    return _prepared(path, delivery, reader)


def read_sheets(path: Path, reader: int = 1) -> dict[str, Delivery]:
    """Each sheet of the workbook at ``path`` that holds a cell, by sheet name in the workbook's order, read,
    checked and converted as ``read`` reads the first sheet: a workbook can be a delivery of several tables."""
    import pandas as pd

    check_reader(path, reader)
    if detect(path) != "excel":
        raise InvalidInput(f"{path}: not an Excel workbook; ipd reads sheets of .xlsx and .xlsm")
    check_file(path)
    with _reading(path, "excel"):
        book = pd.ExcelFile(path, engine="openpyxl")  # opened once: each sheet read from it
    sheets = {}
    with book:
        for name in book.sheet_names:
            where = f"{path}, sheet {name!r}"
            with _reading(where, "excel"):
                delivery = _read_excel(book, name)
            if delivery.table.num_columns:  # a sheet with no cell is no table
                sheets[name] = _prepared(where, delivery, reader)
    return sheets


def check_reader(path: Path, reader: int) -> None:
    """Refuse a reader generation newer than this ipd's: a version recorded by a later ipd is not rebuilt by guess."""
    if not 1 <= reader <= READER:
        raise InvalidInput(f"{path}: read by reader {reader}, and this ipd knows readers 1 to {READER}: "
                           "upgrade ipd")


def check_file(path: Path) -> None:
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path}: the file is empty")


@contextmanager
def _reading(where: Path | str, fmt: str) -> Iterator[None]:
    """Each reader raises its own kinds of error; all mean "unreadable", said of ``where``."""
    try:
        yield
    except InvalidInput:
        raise
    except Exception as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise InvalidInput(f"{where}: cannot be read as {fmt}: {message[:300]}") from exc


def _prepared(where: Path | str, delivery: Delivery, reader: int) -> Delivery:
    """The checks and conversions every table read goes through, whatever held it; ``where`` names it."""
    _check_names(where, delivery.table.column_names)
    _name_unnamed(delivery)
    if reader >= 2:
        delivery.table = whole_numbers_as_integers(delivery.table)
    if delivery.table.num_rows == 0:
        raise InvalidInput(f"{where}: the delivery has no rows")
    return delivery


def whole_numbers_as_integers(table: pa.Table) -> pa.Table:
    """``table`` with each float column whose every value is a whole number that fits int64 as int64.

    Codes delivered as doubles (an arm of 1.0/2.0, a 0/1 flag, a stage 1.0 to 4.0) are then integers: shown
    as 1, not 1.0, in a value set when they are few, and a correction to 1.5 is refused. A column with a
    fraction (an edema of 0.5), a NaN or infinity, a value beyond int64, or no value at all stays as it is;
    so does a half-precision column (Arrow computes nothing on it).
    """
    fields, columns = [], []
    for column, values in zip(table.schema, table.columns):
        if _whole_numbers(values):
            column, values = column.with_type(pa.int64()), values.cast(pa.int64())
        fields.append(column)
        columns.append(values)
    if fields == list(table.schema):
        return table
    # one new table, not one per column: a form export has thousands
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, table.schema.metadata))


def _whole_numbers(values: pa.ChunkedArray) -> bool:
    import pyarrow.compute as pc

    if values.type not in (pa.float32(), pa.float64()) or values.null_count == len(values):
        return False  # not doubles, or no value says what the column holds
    bounds = pc.min_max(values).as_py()  # NaN is passed over here, and refused as not whole below
    if not INT64[0] <= bounds["min"] <= bounds["max"] < INT64[1]:
        return False
    return bool(pc.all(pc.equal(pc.floor(values), values)).as_py())


def _name_unnamed(delivery: Delivery) -> None:
    """Name an unnamed first column by its position, as DuckDB does for CSV (column00, column01, …).

    Statistical packages write row names as an unnamed first column (R's write.csv
    does); refusing them would refuse common real deliveries, so that column is named
    and the dictionary says so. Any other unnamed column is an export gone wrong.
    """
    names = delivery.table.column_names
    if names and not names[0].strip():
        names[0] = f"column{0:0{len(str(len(names) - 1))}d}"
        delivery.unnamed.append(names[0])
    delivery.table = delivery.table.rename_columns(names)


def _check_names(path: Path | str, names: list[str]) -> None:
    """Refuse a header ipd could only use by renaming behind the curator's back."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        if not name.strip() and index > 0:
            after = f" (after {names[index - 1]!r})" if names[index - 1].strip() else ""
            raise InvalidInput(f"{path}: column {index + 1} of the header has no name{after}: name it, "
                               "or leave it out of the delivery")
        if name in seen and name.strip():
            raise InvalidInput(f"{path}: column {name!r} appears twice")
        seen.add(name)
    if names and not names[0].strip():
        given = f"column{0:0{len(str(len(names) - 1))}d}"
        if given in seen:
            raise InvalidInput(f"{path}: column 1 of the header has no name, and the name ipd gives it "
                               f"({given!r}) is taken by another column: name it in the delivery")


def _delivered_header(con, path: Path, delimiter: str | None) -> tuple[list[str], str]:
    """The header as written, and the delimiter: DuckDB renames repeated (sbp_1) and empty (column1) names silently."""
    sniffed_delimiter, quote = con.sql("SELECT Delimiter, Quote FROM sniff_csv($path)",
                                       params={"path": str(path)}).fetchall()[0]
    quote = '"' if quote in ("", "(empty)") else quote
    delimiter = delimiter or sniffed_delimiter
    return _first_row(path, delimiter, quote), delimiter


def _first_row(path: Path, delimiter: str, quote: str = '"') -> list[str]:
    import csv

    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:  # -sig: Excel writes a BOM
        return next(csv.reader(handle, delimiter=delimiter, quotechar=quote), [])


def _read_text(path: Path, delimiter: str | None) -> Delivery:
    options = {"sample_size": -1, "na_values": NULL_STRINGS, "header": True}
    if delimiter:
        options["delimiter"] = delimiter
    con = connect()
    header, used = _delivered_header(con, path, delimiter)
    _check_names(path, header)
    con.execute("SET threads = 1")  # see _streamed
    table = _streamed(con.read_csv(str(path), **options))
    if len(header) != table.num_columns or table.num_rows == 0 or table.num_columns == 1:
        _check_widths(path, used, len(header))  # the sniffer may have guessed a layout: find the ragged line
        if table.num_columns == 1 and delimiter is None and len(_first_row(path, ",")) > 1:
            _check_widths(path, ",", len(_first_row(path, ",")))  # whole lines as one column: a comma file
    if len(header) == table.num_columns:  # unnamed columns get the same names whatever the format
        table = table.rename_columns(header)
    return Delivery(table, "tsv" if delimiter == "\t" else "csv")


def _streamed(relation) -> pa.Table:
    """The relation's rows as Arrow, batch by batch, on one thread.

    Converting the whole result at once (or reading on several threads, which buffers
    to keep the rows in order) holds the delivery twice: 3 GB for a 1.5 GB table.
    """
    reader = relation.to_arrow_reader(ARROW_BATCH)
    return pa.Table.from_batches(reader, schema=reader.schema)


def _check_widths(path: Path, delimiter: str, width: int) -> None:
    """Refuse, naming the line, a row with more or fewer fields than the header.

    DuckDB's sniffer takes a ragged file for some other layout (the widest row as the
    header, or one column of whole lines) rather than failing, so this runs when what
    it read looks like that; only then, as it reads the file in Python.
    """
    import csv

    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        for row in reader:
            if row and len(row) != width:
                raise InvalidInput(f"{path}, line {reader.line_num}: {len(row)} fields, but the header has {width}")


def _read_csv(path: Path) -> Delivery:
    return _read_text(path, None)


def _read_tsv(path: Path) -> Delivery:
    return _read_text(path, "\t")


def _read_excel(source: Path | pd.ExcelFile, sheet: int | str = 0) -> Delivery:
    """One sheet (the first unless named) of a workbook, given by its path or opened (``read_sheets``)."""
    import pandas as pd

    # numpy_nullable keeps a column of whole numbers with a gap as integers, as the CSV reader does
    frame = pd.read_excel(source, sheet_name=sheet, engine="openpyxl", dtype_backend="numpy_nullable")
    frame.columns = [str(c) for c in frame.columns]
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    return Delivery(_excel_dates(table), "excel")


def _excel_dates(table: pa.Table) -> pa.Table:
    """Excel has no date type, only date-times: a column whose times are all midnight holds dates."""
    import pyarrow.compute as pc

    for index, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is None:
            values = table.column(index)
            dates = values.cast(pa.date32())
            if pc.all(pc.equal(dates.cast(column.type), values)).as_py() is not False:
                table = table.set_column(index, column.name, dates)
    return table


def _read_parquet(path: Path) -> Delivery:
    table = parquet.read(path)
    return Delivery(table.replace_schema_metadata(None), "parquet")


def _read_stat(reader_name: str, fmt: str, **options: bool):
    """A pyreadstat reader; ``options`` only where that reader takes them (read_xport has no user_missing)."""

    def read_stat(path: Path) -> Delivery:
        import pyreadstat

        reader = getattr(pyreadstat, reader_name)
        frame, meta = reader(str(path), dates_as_pandas_datetime=False, **options)
        labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
        table = pa.Table.from_pandas(frame, preserve_index=False)
        return Delivery(table, fmt, labels, dict(meta.variable_value_labels or {}), meta.file_label or "")

    return read_stat


_READ = {
    "csv": _read_csv, "tsv": _read_tsv, "excel": _read_excel, "parquet": _read_parquet,
    "sas7bdat": _read_stat("read_sas7bdat", "sas7bdat", user_missing=False),
    "xpt": _read_stat("read_xport", "xpt"),
    "dta": _read_stat("read_dta", "dta", user_missing=False),
    "sav": _read_stat("read_sav", "sav", user_missing=False),
}


# -- writing a version out ------------------------------------------------------

def write(table: pa.Table, path: Path, fmt: str, labels: dict[str, str], title: str = "",
          xpt_version: int = 5) -> None:
    """Write ``table`` as ``fmt``; statistical formats carry the dictionary's variable labels, and names valid
    in the format (``export_names``). ``xpt_version`` 8 keeps names up to 32 characters (see ``export_names``).

    A CSV is opened in spreadsheets: its text goes through ``csvsafe``. The other formats hold the values as stored.
    """
    if fmt == "parquet":
        parquet.write(table, path)
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(csvsafe.table(table), path)
    else:
        _write_stat(table, path, fmt, labels, title, xpt_version)


# Names Stata (readstat's list) and SPSS keep for themselves: a column so named gets an underscore after it.
STATA_RESERVED = frozenset("""aggregate array boolean break byte case catch class colvector complex const continue
    default delegate delete do double else eltypedef end enum explicit export external float for friend function
    global goto if in inline int local long NULL pragma protected quad rowvector short typedef typename virtual _all
    _N _skip _b _pi _pred strL _coef _rc using _cons _se with _n""".split())
SPSS_RESERVED = frozenset("ALL AND BY EQ GE GT LE LT NE NOT OR TO WITH".split())
LONGEST = {"xpt": 8, "xpt8": 32, "dta": 32, "sav": 64}  # xpt: SAS transport version 5; xpt8: version 8


def export_names(columns: list[str], fmt: str) -> dict[str, str]:
    """Column name -> the name ``fmt`` accepts, unique regardless of case; a name already valid is kept.

    ``xpt`` is SAS transport version 5, the one regulators take: at most 8 characters (``xpt8``, version 8,
    takes 32, as release packages of format 3 and earlier were written). Stata (``dta``) takes 32 and no
    reserved word (``str2`` is one); SPSS (``sav``) wants a letter first and no reserved word (``BY``). Other
    characters, R's dots among them (``alk.phos``), become underscores. The file's labels carry the names
    as they were (``formats.write``).
    """
    import re

    out: dict[str, str] = {}
    taken: set[str] = set()
    longest = LONGEST[fmt]
    for column in columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", column)
        if fmt == "sav":
            name = name if re.match(r"[A-Za-z]", name) else f"v{name}"
        else:
            name = name if re.match(r"[A-Za-z_]", name) else f"_{name}"
        if _reserved(name, fmt):
            name = f"{name}_"
        if fmt == "xpt" and len(name) > longest:  # shortened: "varices_dt" is "varices", not "varices_"
            name = name[:longest].rstrip("_") or name[:longest]
        name, base, n = name[:longest], name[:longest - 3], 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        out[column] = name
    return out


def _reserved(name: str, fmt: str) -> bool:
    import re

    if fmt == "dta":
        return name in STATA_RESERVED or bool(re.fullmatch(r"str\d+", name))
    return fmt == "sav" and name.upper() in SPSS_RESERVED


def _write_stat(table: pa.Table, path: Path, fmt: str, labels: dict[str, str], title: str,
                xpt_version: int = 5) -> None:
    import pyreadstat

    names = export_names(table.column_names, "xpt8" if fmt == "xpt" and xpt_version == 8 else fmt)
    # a renamed column keeps its own name in its label, so the file still says which column it is
    column_labels = [labels.get(c) if names[c] == c else f"{c}: {labels[c]}" if labels.get(c) else c
                     for c in table.column_names]
    frame = table.rename_columns([names[c] for c in table.column_names]).to_pandas()
    if fmt == "xpt":
        version = 5 if all(len(c) <= 8 for c in frame.columns) else 8
        if version == 5:  # version 5 labels hold 40 characters
            column_labels = [label[:40] if label else label for label in column_labels]
        pyreadstat.write_xport(frame, str(path), file_label=title[:40], column_labels=column_labels,
                               table_name="DATA", file_format_version=version)
    elif fmt == "dta":
        pyreadstat.write_dta(_stata_longs(table.rename_columns(list(frame.columns)), frame), str(path),
                             file_label=title[:80],
                             column_labels=column_labels)
    elif fmt == "sav":
        pyreadstat.write_sav(frame, str(path), file_label=title, column_labels=column_labels)
    else:
        raise InvalidInput(f"unknown output format {fmt!r}; choose one of {', '.join(EXPORTS)}")


def _stata_longs(table: pa.Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Integer columns that fit Stata's long are written as long (pyreadstat would write doubles)."""
    import pandas
    import pyarrow.compute as pc

    for column in table.schema:
        if pa.types.is_integer(column.type):
            bounds = pc.min_max(table.column(column.name)).as_py()
            low, high = bounds["min"], bounds["max"]
            if low is None or (STATA_LONG[0] <= low and high <= STATA_LONG[1]):
                values = table.column(column.name).cast(pa.int32())
                frame[column.name] = values.to_pandas(types_mapper={pa.int32(): pandas.Int32Dtype()}.get)
    return frame
