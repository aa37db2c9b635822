"""Identifiers and sensitive variables found by what a column holds, whatever it is called or typed.

Names and labels miss what a delivery does not announce: a social security
number stored as an integer in a column ``v12``, participants' names in
``pt``, a physician's name, verbatim "other, specify" text, ``cocaine_use``.
``scan`` reads the values of every column (not only text: an integer can be
an SSN or a phone number) and reports each finding with its evidence: how
many values match, of how many, and one example masked (``***-**-6789``), so
the curator can judge it without the plan repeating the identifier.

The search runs over each column's distinct values. Patterns (e-mail, SSN,
postcode, ZIP) are RE2 over all of them (pyarrow.compute), which costs a
fraction of a second on a million rows; the checks that need Python (phone
numbers, validated by ``phonenumbers``, Google's libphonenumber; names, in
Faker's census-derived name lists) look at a sample of candidates first and
count over every value only when the sample holds one. A shape that ordinary
data can take (a bare 9-digit number, a 5-digit string, "First Last") counts
only when it is most of the column; a shape that nothing else takes (an
e-mail address, ``123-45-6789``) counts from a single value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from . import sensitive
from .names import holds_name, mask_words

if TYPE_CHECKING:
    from collections.abc import Callable

    import pyarrow as pa

SAMPLE = 2000  # candidates checked in Python before every value is: none there, none counted
MOST = 0.5  # share of a column's values from which an ambiguous shape counts
ZIP_SHARE = 0.8  # share of 5-digit strings from which a text column is ZIP codes
CODES = 0.9  # record numbers: share of distinct values, and of values shaped like a code
MIN_CODES = 20  # values a column needs before "mostly distinct" says anything
MIN_TEXT = 3
LONG_TEXT = 40  # characters from which a value is verbatim text
REGIONS = ("US", "GB")  # where numbers written without a country code are read as phone numbers

SSN, PHONE, EMAIL, POSTCODE, ZIP, RECORD, NAME, TEXT = (
    "social security numbers", "phone numbers", "e-mail addresses", "UK postcodes", "US ZIP codes", "record numbers",
    "personal names", "free text")
SPECIFIC = (SSN, PHONE, EMAIL, POSTCODE, ZIP)  # kinds more telling than "record numbers"

_AREA = r"(00[1-9]|0[1-9][0-9]|[1-578][0-9]{2}|6[0-57-9][0-9]|66[0-57-9])"  # not 000, 666 or 900-999
_GROUP, _SERIAL = r"(0[1-9]|[1-9][0-9])", r"(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
SSN_WRITTEN = rf"(^|[^0-9-]){_AREA}(-{_GROUP}-|\s{_GROUP}\s){_SERIAL}($|[^0-9-])"
SSN_PLAIN = rf"^\s*{_AREA}{_GROUP}{_SERIAL}\s*$"
EMAIL_PATTERN = r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}"
POSTCODE_PATTERN = r"(^|[^A-Za-z0-9])[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}($|[^A-Za-z0-9])"
ZIP4, ZIP5 = r"(^|[^0-9-])[0-9]{5}-[0-9]{4}($|[^0-9-])", r"^\s*[0-9]{5}\s*$"
PHONE_LIKE = r"([0-9][^0-9A-Za-z]{0,3}){7,}"
NAME_LIKE = r"[A-Za-z]\.?,?\s+[A-Za-z]"
CODE, NUMBER = r"^[A-Za-z0-9#/_.:-]{4,}$", r"^[+-]?[0-9]*[.,]?[0-9]+([eE][+-]?[0-9]+)?$"
DATE_LIKE = r"^[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}$"


@dataclass(frozen=True)
class Finding:
    column: str
    kind: str  # one of the kinds above, or a sensitive topic (sensitive.TOPICS)
    rule: str  # the rule that deals with it: identifiers, sensitive or free_text
    evidence: str  # "418 of 418 values, e.g. '***-**-6789'", or "its name says 'cocaine'"
    matches: int | None = None  # values (rows) that match
    present: int | None = None  # values present
    example: str | None = None  # one of them, masked

    @property
    def said(self) -> str:
        what = f"is a sensitive variable on {self.kind}" if self.rule == "sensitive" else f"holds {self.kind}"
        return f"{what} ({self.evidence})"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _found(column: str, kind: str, rule: str, matches: int, present: int, example: str) -> Finding:
    return Finding(column, kind, rule, f"{matches} of {present} values, e.g. '{example}'", matches, present, example)


class Values:
    """A column's distinct present values (text, or whole numbers as int64) and how many rows hold each."""

    def __init__(self, values: pa.Array, counts: pa.Array, present: int, text: bool) -> None:
        self.values, self.counts, self.present, self.text = values, counts, present, text

    def rows(self, mask: pa.Array) -> int:
        import pyarrow.compute as pc

        return int(pc.sum(pc.if_else(mask, self.counts, 0)).as_py() or 0)

    def first(self, mask: pa.Array) -> Any:
        import pyarrow.compute as pc

        index = pc.index(mask, True).as_py()
        return None if index < 0 else self.values[index].as_py()

    def match(self, pattern: str, ignore_case: bool = False) -> pa.Array:
        import pyarrow.compute as pc

        return pc.match_substring_regex(self.values, pattern, ignore_case=ignore_case)

    def checked(self, candidates: pa.Array, check: Callable[[Any], Any]) -> pa.Array | None:
        """``check`` on each candidate value (a sample first: None when no sampled value passes)."""
        import numpy as np
        import pyarrow as pa

        where = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
        if len(where) > SAMPLE:
            probe = where[np.linspace(0, len(where) - 1, SAMPLE).astype(int)]
            if not any(map(check, self.values.take(pa.array(probe)).to_pylist())):
                return None
        mask = np.zeros(len(self.values), dtype=bool)
        mask[where] = [bool(check(value)) for value in self.values.take(pa.array(where)).to_pylist()]
        return pa.array(mask) if mask.any() else None


def values_of(column: pa.ChunkedArray) -> Values | None:
    """The column as ``Values``: text, integers, and decimals that are all whole numbers (an integer column
    with missing values often arrives as floats); None for anything else."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pt

    kind = column.type
    if pt.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    present = column.drop_null()
    if len(present) == 0:
        return None
    text = pt.is_string(kind) or pt.is_large_string(kind)
    if pt.is_large_string(kind):
        present = present.cast(pa.string())
    elif pt.is_floating(kind):
        low, high = pc.min_max(present).values()
        if not (pc.all(pc.equal(pc.floor(present), present)).as_py() and -2 ** 53 < low.as_py()
                and high.as_py() < 2 ** 53):
            return None
        present = present.cast(pa.int64())
    elif pt.is_integer(kind):
        if pt.is_uint64(kind) and pc.max(present).as_py() >= 2 ** 63:
            return None
        present = present.cast(pa.int64())
    elif not text:
        return None
    counted = pc.value_counts(present)
    return Values(counted.field("values"), counted.field("counts"), len(present), text)


def scan(table: pa.Table, labels: dict[str, str], skip: tuple[str, ...] = ()) -> list[Finding]:
    """Every finding, column by column in the table's order (``skip``: the participant ID, replaced anyway)."""
    found: list[Finding] = []
    for name in table.column_names:
        if name in skip:
            continue
        topic = sensitive.by_name(name, labels.get(name, ""))
        column: list[Finding] = [Finding(name, topic[0], "sensitive", topic[1])] if topic else []
        values = values_of(table.column(name))
        if values is not None:
            column += (_text(name, values, sensitive_done=bool(topic)) if values.text else _whole(name, values))
        found += column
    return found


# -- text -----------------------------------------------------------------------------------------------

def _text(name: str, v: Values, sensitive_done: bool) -> list[Finding]:
    found = [f for f in (_ssn_text(name, v), _phones(name, v), _emails(name, v), _postcodes(name, v),
                         _zips(name, v)) if f]
    if not found and (f := _codes(name, v)):
        found.append(f)
    names = _names(name, v)
    found += [f for f in (names, None if names else _free_text(name, v),
                          None if sensitive_done else _sensitive_values(name, v)) if f]
    return found


def _ssn_text(name: str, v: Values) -> Finding | None:
    import re

    import pyarrow.compute as pc

    written, plain = v.match(SSN_WRITTEN), v.match(SSN_PLAIN)
    if v.rows(plain) >= MOST * v.present:
        written = pc.or_(written, plain)
    elif not pc.any(written).as_py():
        return None
    digits = re.sub(r"[^0-9]", "", re.search(rf"{_AREA}\D?{_GROUP}\D?{_SERIAL}", v.first(written)).group(0))
    return _found(name, SSN, "identifiers", v.rows(written), v.present, f"***-**-{digits[-4:]}")


def _phones(name: str, v: Values) -> Finding | None:
    mask = v.checked(v.match(PHONE_LIKE), _phone_in)
    if mask is None:
        return None
    return _found(name, PHONE, "identifiers", v.rows(mask), v.present, _mask_digits(_phone_in(v.first(mask)), 2))


def _phone_in(text: str) -> str:
    """The first valid phone number written in ``text`` ("" when there is none; dates such as 13-10-1988 are
    taken out first, since their digits can make a valid number)."""
    import re

    import phonenumbers

    text = re.sub(r"\b[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}\b", " ", text)
    for region in REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            return match.raw_string
    return ""


def _emails(name: str, v: Values) -> Finding | None:
    import re

    import pyarrow.compute as pc

    mask = v.match(EMAIL_PATTERN, ignore_case=True)
    if not pc.any(mask).as_py():
        return None
    local, _, domain = re.search(EMAIL_PATTERN, v.first(mask), re.IGNORECASE).group(0).partition("@")
    return _found(name, EMAIL, "identifiers", v.rows(mask), v.present,
                  f"{local[0]}***@***.{domain.rsplit('.', 1)[-1]}")


def _postcodes(name: str, v: Values) -> Finding | None:
    import re

    import pyarrow.compute as pc

    mask = v.match(POSTCODE_PATTERN)
    if not pc.any(mask).as_py():
        return None
    code = re.search(POSTCODE_PATTERN, v.first(mask)).group(0).strip(" ,;()")
    return _found(name, POSTCODE, "identifiers", v.rows(mask), v.present, code[0] + re.sub(r"[A-Z0-9]", "*", code[1:]))


def _zips(name: str, v: Values) -> Finding | None:
    import re

    import pyarrow.compute as pc

    written, plain = v.match(ZIP4), v.match(ZIP5)
    if v.rows(plain) >= ZIP_SHARE * v.present and pc.sum(plain).as_py() >= MIN_TEXT:
        written = pc.or_(written, plain)
    elif not pc.any(written).as_py():
        return None
    code = re.search(r"[0-9]{5}(-[0-9]{4})?", v.first(written)).group(0)
    return _found(name, ZIP, "identifiers", v.rows(written), v.present, code[0] + re.sub(r"[0-9]", "*", code[1:]))


def _codes(name: str, v: Values) -> Finding | None:
    """Record numbers: a text column of mostly distinct codes (letters and digits, no spaces)."""
    import re

    import pyarrow.compute as pc

    if v.present < MIN_CODES or len(v.values) < CODES * v.present:
        return None
    shaped = v.match(CODE)
    if v.rows(shaped) < CODES * v.present:
        return None
    number = pc.and_not(v.match(NUMBER), v.match(r"^[0-9]{6,}$"))
    shaped = pc.and_not(pc.and_not(pc.and_(shaped, v.match("[0-9]")), number), v.match(DATE_LIKE))
    if v.rows(shaped) < CODES * v.present:
        return None
    code = v.first(shaped)
    return _found(name, RECORD, "identifiers", v.rows(shaped), v.present,
                  re.sub(r"[A-Za-z0-9]", "*", code[:-2]) + code[-2:])


def _names(name: str, v: Values) -> Finding | None:
    mask = v.checked(v.match(NAME_LIKE), holds_name)
    if mask is None or v.rows(mask) < MOST * v.present:
        return None
    return _found(name, NAME, "identifiers", v.rows(mask), v.present, mask_words(v.first(mask)))


def _free_text(name: str, v: Values) -> Finding | None:
    import pyarrow.compute as pc

    long = pc.greater(pc.utf8_length(v.values), LONG_TEXT)
    spaced = v.match(r"\S\s+\S")
    verbatim = v.rows(spaced) > MOST * v.present and len(v.values) > MOST * v.present
    if v.present < MIN_TEXT or not (v.rows(long) > MOST * v.present or verbatim):
        return None
    mask = pc.or_(long, spaced)
    return _found(name, TEXT, "free_text", v.rows(mask), v.present, mask_words(v.first(mask)))


def _sensitive_values(name: str, v: Values) -> Finding | None:
    import re

    import pyarrow.compute as pc

    patterns = sensitive.value_patterns()
    if not pc.any(v.match("|".join(f"(?:{p})" for _, p in patterns), ignore_case=True)).as_py():
        return None  # one pass over the values for the usual case, nothing sensitive
    for topic, pattern in patterns:
        mask = v.match(pattern, ignore_case=True)
        if pc.any(mask).as_py():
            word = re.search(pattern, v.first(mask), re.IGNORECASE).group(0).lower()
            return _found(name, topic, "sensitive", v.rows(mask), v.present, word)
    return None


# -- whole numbers ----------------------------------------------------------------------------------------

def _whole(name: str, v: Values) -> list[Finding]:
    found = _ssn_numbers(name, v) or _phone_numbers(name, v) or _record_numbers(name, v)
    return [found] if found else []


def _ssn_numbers(name: str, v: Values) -> Finding | None:
    """Nine digits with a valid area, group and serial, for most values (an SSN with a leading zero is stored
    with fewer digits, so most must still have nine: lab counts in the millions are not SSNs)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    padded = pc.utf8_lpad(pc.cast(v.values, pa.string()), 9, "0")
    valid = pc.match_substring_regex(padded, SSN_PLAIN)
    nine = pc.and_(valid, pc.greater_equal(v.values, 100_000_000))
    if v.rows(valid) < MOST * v.present or 2 * v.rows(nine) < v.rows(valid):
        return None
    return _found(name, SSN, "identifiers", v.rows(valid), v.present, f"***-**-{v.first(valid) % 10_000:04d}")


def _phone_numbers(name: str, v: Values) -> Finding | None:
    import pyarrow.compute as pc

    ten = pc.and_(pc.greater_equal(v.values, 2_000_000_000), pc.less_equal(v.values, 9_999_999_999))
    if v.rows(ten) < MOST * v.present:
        return None
    mask = v.checked(ten, _us_phone)
    if mask is None or v.rows(mask) < MOST * v.present:
        return None
    return _found(name, PHONE, "identifiers", v.rows(mask), v.present, _mask_digits(str(v.first(mask)), 2))


def _us_phone(number: int) -> bool:
    import phonenumbers

    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(str(number), "US"))
    except phonenumbers.NumberParseException:
        return False


def _record_numbers(name: str, v: Values) -> Finding | None:
    """Mostly distinct numbers of six digits or more: medical record or hospital numbers."""
    import pyarrow.compute as pc

    if v.present < MIN_CODES or len(v.values) < CODES * v.present:
        return None
    long = pc.greater_equal(pc.abs(v.values), 100_000)
    if v.rows(long) < CODES * v.present:
        return None
    return _found(name, RECORD, "identifiers", v.rows(long), v.present, _mask_digits(str(v.first(long)), 2))


def _mask_digits(text: str, keep: int) -> str:
    digits = sum(c.isdigit() for c in text)
    out, seen = [], 0
    for c in text:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - keep else "*")
        else:
            out.append(c)
    return "".join(out)

