"""Personal names in a value: "Robert Lee/Robert Smith", "Dr. Grant", "Smith, John".

A value holds a name when a part of it (parts are split at ``/ ; & , and``)
is two to four capitalised words, none of them an institution's
(``Hospital``, ``Clinic``…), and either begins with a title (``Dr``, ``Mrs``),
or begins with a known first name, or is an initial and a known surname.
The first names and surnames are Faker's lists for English-, Spanish-, French-,
German-, Italian- and Dutch-speaking countries (MIT licence, maintained,
taken from census and civil-registration frequency tables): about 8,000 first
names and 9,000 surnames, read once, in a few milliseconds. A rarer name is
still caught when it follows a common first name; what a list cannot give is
certainty, which is why a column counts only when most of its values hold a
name (``content.MOST``).
"""

from __future__ import annotations

import re
from functools import lru_cache

LOCALES = ("en_US", "en_GB", "en_IE", "en_NZ", "en_IN", "es_ES", "fr_FR", "de_DE", "it_IT", "nl_NL")
TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame", "rev"}
INSTITUTIONS = {"hospital", "hospitals", "clinic", "clinics", "centre", "center", "medical", "university", "infirmary",
                "memorial", "health", "healthcare", "institute", "foundation", "college", "school", "trust", "street",
                "road", "avenue", "lane", "county", "city", "state", "general", "royal", "saint", "st", "group",
                "unit", "ward", "department", "dept", "laboratory", "lab", "pharmacy", "research", "study", "trial",
                "practice", "surgery", "site", "office", "service", "services", "care", "house", "home"}
WORD = re.compile(r"^[A-Z][A-Za-z'’-]*\.?$")
INITIAL = re.compile(r"^[A-Z]\.?$")
PARTS = re.compile(r"\s*(?:[/;&|+,]|\band\b)\s*")
LAST_FIRST = re.compile(r"^\s*([A-Z][A-Za-z'’-]+),\s*([A-Z][A-Za-z'’-]+)\b")


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames), lower case."""
    import importlib

    first: set[str] = set()
    last: set[str] = set()
    for locale in LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            first.update(n.lower() for n in getattr(provider, attribute, ()))
        last.update(n.lower() for n in getattr(provider, "last_names", ()))
    return frozenset(first), frozenset(last)


def holds_name(text: str) -> bool:
    first, _ = name_lists()
    found = LAST_FIRST.match(text)
    if found and found.group(2).lower() in first and found.group(1).lower() not in INSTITUTIONS:
        return True
    return any(_is_name(part.split()) for part in PARTS.split(text))


def _is_name(words: list[str]) -> bool:
    if not 2 <= len(words) <= 4 or not all(WORD.match(w) for w in words):
        return False
    lowered = [w.strip(".").lower() for w in words]
    if any(w in INSTITUTIONS for w in lowered):
        return False
    first, last = name_lists()
    if lowered[0] in TITLES or lowered[0] in first:
        return not INITIAL.match(words[-1])
    return bool(INITIAL.match(words[0])) and lowered[-1] in last


def mask_words(text: str, width: int = 40) -> str:
    """Each word's first letter, the rest as asterisks ("R***** L**/R***** S****"): the shape, not the name."""
    masked = re.sub(r"[0-9]", "*", re.sub(r"(?<=[^\W\d_])[^\W\d_]", "*", text))
    return masked if len(masked) <= width else masked[:width] + "…"
