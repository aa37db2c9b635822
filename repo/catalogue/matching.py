"""Finding source values in what a catalogue holds: renderings, a token index, and whole columns.

A value can reach the catalogue in many spellings: a date as ISO text in JSON,
as ``04MAR2015`` in SAS output, as ``03/04/2015`` in a spreadsheet; a number as
``75.3`` or ``75.30``. Each needle is therefore looked for in every rendering
the package formats (and a person pasting into a note) would plausibly give it,
case-folded.

Text is searched through tokens: runs of digits and runs of letters, so a
value is found only whole (``2015-03-04`` in ``2015-03-04T10:00``, not in
``12015-03-045``; ``100231`` in ``R100231``, not in ``1002310``). A file is split
into tokens once, whatever the number of needles: a one-token needle
(``100231``, ``leeds``) is a set lookup, a longer one (``2015-03-04``,
``Participant 12``) a lookup of its first two tokens and what joins them, where
any run of whitespace is one space. Punctuation before a needle's first token
or after its last is not required (``-12345.5`` is found as ``12345.5``). Words
of 32 or more hexadecimal digits are hashes, whose digit runs would otherwise
match keys at random: they are left out.

Short, common values (``M``, ``1``, ``T2``) would match everywhere, so they are
not looked for as text: ``column_hits`` instead finds a table column that holds
a source column's values, as a multiset.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

HASH_LENGTH = 32
MIN_TEXT = 5  # characters of a text needle
MIN_NUMBER = 5  # significant digits of a numeric needle
MIN_KEY = 4  # characters of a participant key
CHUNK = 4 << 20  # characters of text searched at once
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d", "%d%b%Y", "%d-%b-%Y")


# -- values ---------------------------------------------------------------------------------------

def canonical(value: Any) -> str | None:
    """One spelling per value, whatever type a file gave it (``75`` for 75 and 75.0, ISO for dates)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, (dt.date, dt.datetime)):
        value = value.item()  # a numpy scalar
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, decimal.Decimal):
        return canonical(float(value)) if value == value.to_integral_value() else str(value.normalize())
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def renderings(value: Any) -> list[str]:
    """The spellings of ``value`` worth looking for (case-folded)."""
    if isinstance(value, dt.datetime):
        stamps = [value.strftime("%Y-%m-%dT%H:%M:%S"), value.strftime("%Y-%m-%d %H:%M:%S")]
        return list(dict.fromkeys(s.casefold() for s in stamps + renderings(value.date())))
    if isinstance(value, dt.date):
        spelled = [value.strftime(f) for f in DATE_FORMATS]
        spelled += [f"{value.day} {value:%B %Y}", f"{value:%B} {value.day}, {value.year}"]
        return list(dict.fromkeys(s.casefold() for s in spelled))
    if isinstance(value, float) and not math.isnan(value):
        return list(dict.fromkeys([repr(value), canonical(value) or ""]))
    text = canonical(value)
    return [text.casefold()] if text else []


def distinctive(text: str, value: Any, key: bool) -> bool:
    """Whether a rendering is rare enough to look for as text: dates always; keys of ``MIN_KEY`` characters;
    numbers of ``MIN_NUMBER`` significant digits; other text of ``MIN_TEXT`` characters."""
    if isinstance(value, bool):
        return False
    if isinstance(value, dt.date):
        return True
    if key:
        return len(text) >= MIN_KEY
    if isinstance(value, (int, float, decimal.Decimal)):
        return len(text.lstrip("+-").replace(".", "").lstrip("0")) >= MIN_NUMBER
    return len(text) >= MIN_TEXT and any(c.isalnum() for c in text)


# -- text ------------------------------------------------------------------------------------------

HASH = re.compile(r"(?<![^\W_])[0-9a-f]{%d,}(?![^\W_])" % HASH_LENGTH)
PIECES = re.compile(r"([0-9]+|[^\W\d_]+)")
SPACE = re.compile(r"\s+")


def pieces(text: str) -> list[str]:
    """Case-folded ``text`` (hashes blotted out) split into [separator, token, separator, token, …, separator]."""
    return PIECES.split(HASH.sub("#", text.casefold()))


def _joint(separator: str) -> str:
    """What joins two tokens, any run of whitespace as one space (a line break in a note is a space)."""
    if "  " in separator or (separator and not separator.isprintable()):
        return SPACE.sub(" ", separator)
    return separator


def _word_edge(text: str, at: int, step: int) -> int:
    """``at``, moved by ``step`` (-1 or 1) until it is not inside a word: a chunk never cuts a token in two."""
    while 0 < at < len(text) and text[at - 1].isalnum() and text[at].isalnum():
        at += step
    return at


def _in_decimal(split: list[str], tokens: list[str], j: int) -> bool:
    """Whether token ``j`` is the whole or fractional part of a decimal number (``81.10368``): a key 10368 is
    not in it, any more than in 8110368."""
    if not tokens[j].isdigit():
        return False
    before = j > 0 and split[2 * j] == "." and tokens[j - 1].isdigit()
    after = j < len(tokens) - 1 and split[2 * j + 2] == "." and tokens[j + 1].isdigit()
    return before or after


class Index:
    """Needle texts, found as runs of whole tokens; ``search`` gives the numbers of the texts found.

    A one-token needle is looked up in the set of the text's tokens. A longer one is looked up by its first
    two tokens and what joins them, at each place the text has its first token, then checked token by token.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = list(texts)
        self.shapes: list[tuple[list[str], list[str]]] = []
        self.single: dict[str, list[int]] = {}
        self.multi: dict[tuple[str, str, str], list[int]] = {}
        for i, text in enumerate(self.texts):
            split = PIECES.split(text.casefold())  # needles are short: no hashes in them
            tokens, joints = split[1::2], [_joint(j) for j in split[2:-1:2]]
            self.shapes.append((tokens, joints))
            if len(tokens) == 1:
                self.single.setdefault(tokens[0], []).append(i)
            elif tokens:
                self.multi.setdefault((tokens[0], joints[0], tokens[1]), []).append(i)
        self.firsts = {key[0] for key in self.multi}
        self.longest = max((len(t) for t in self.texts), default=0)

    def search(self, text: str) -> set[int]:
        found: set[int] = set()
        step = max(CHUNK, 2 * self.longest)
        for start in range(0, max(len(text), 1), step):  # chunks overlap by the longest needle
            begin, end = _word_edge(text, max(0, start - self.longest), -1), _word_edge(text, start + step, 1)
            found |= self._search(text[begin:end])
        return found

    def _search(self, text: str) -> set[int]:
        split = pieces(text)
        tokens = split[1::2]
        present = {t for j, t in enumerate(tokens) if not _in_decimal(split, tokens, j)}
        found = {i for token in present & self.single.keys() for i in self.single[token]}
        if not present & self.firsts:
            return found
        firsts, last = self.firsts, len(tokens) - 1
        for j, token in enumerate(tokens):
            if token in firsts and j < last:
                for i in self.multi.get((token, _joint(split[2 * j + 2]), tokens[j + 1]), ()):
                    if i not in found and self._continues(i, split, tokens, j):
                        found.add(i)
        return found

    def _continues(self, i: int, split: list[str], tokens: list[str], j: int) -> bool:
        wanted, joints = self.shapes[i]
        if j + len(wanted) > len(tokens):
            return False
        return all(tokens[j + k] == wanted[k] for k in range(2, len(wanted))) and all(
            _joint(split[2 * (j + k) + 2]) == joints[k] for k in range(1, len(joints)))


def table_text(table: pa.Table) -> str:
    """Every column name and distinct value of ``table``, one a line, as ``Index.search`` reads them."""
    import pyarrow.compute as pc

    lines = list(table.column_names)
    for column in table.columns:
        for value in pc.unique(column).to_pylist():
            if value is None:
                continue
            lines.extend(renderings(value)[:2] if isinstance(value, (dt.date, float)) else [str(value)])
    return "\n".join(lines)


# -- whole columns ---------------------------------------------------------------------------------

def counts(column: pa.ChunkedArray | pa.Array) -> Counter[str]:
    """Canonical value -> how many rows hold it (missing values left out)."""
    import pyarrow.compute as pc

    found: Counter[str] = Counter()
    for entry in pc.value_counts(column).to_pylist():
        value = canonical(entry["values"])
        if value is not None and value != "":
            found[value] += entry["counts"]
    return found


@dataclass(frozen=True)
class Shape:
    """A source column as the column check sees it: its values, which of them the release replaced, and how
    many rows a copy of it may have (its releases leave out the participants a tier excludes)."""

    counts: Counter[str]
    replaced: frozenset[str]
    rows: int
    least_rows: int


def holds(found: Counter[str], rows: int, shape: Shape) -> bool:
    """Whether a table column of ``rows`` rows with the values ``found`` is the source column, or the source
    column less some of its participants: every value at most as often, no more values missing than rows
    missing, at least one value the release replaced, and two distinct values or more."""
    if len(found) < 2 or len(shape.counts) < 2 or not shape.least_rows <= rows <= shape.rows:
        return False
    if len(found) > len(shape.counts) or not shape.replaced & found.keys():
        return False
    if any(n > shape.counts.get(value, 0) for value, n in found.items()):
        return False
    return sum(shape.counts.values()) - sum(found.values()) <= shape.rows - rows
