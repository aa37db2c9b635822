"""Every path of a catalogue, relative to its root: the curation layout's release paths, and a few of its own.

Release records and packages sit where they sit in a curation repository
(``datasets/TRIAL/releases/``), so a requestor reads either the same way.
"""

from __future__ import annotations

import re

from ..repository import layout


def record(trial: str, name: str) -> str:
    return layout.trial(trial).release_record(name)


def package(trial: str, name: str) -> str:
    return layout.trial(trial).release_package(name)


def ignore(trial: str) -> str:
    """The .gitignore that keeps the packages' data files (DVC's) out of git."""
    return f"{layout.trial(trial).releases}/.gitignore"


def notes(trial: str, name: str, suffix: str = "json") -> str:
    return f"{layout.trial(trial).folder}/notes/{name}.{suffix}"


def provenance(trial: str, name: str) -> str:
    return f"{layout.trial(trial).folder}/provenance/{name}.json"


def publication(trial: str, name: str) -> str:
    return f"{layout.trial(trial).folder}/publications/{name}.json"


PUBLICATIONS = f"{layout.DATASETS}/*/publications/*.json"


# A path the functions above give one release: its record, its package's files, its notes, PROV record and
# publication record (``.gitignore`` beside the packages and the catalogue's own files belong to none).
_OWNED = re.compile(rf"{layout.DATASETS}/(?P<trial>[^/]+)/(?:{layout.RELEASES}/(?P<package>v[1-9][0-9]*-[a-z]+(?:-[1-9][0-9]*)?)"
                    r"(?:\.json|/.+)|(?:notes|provenance|publications)/(?P<named>v[1-9][0-9]*-[a-z]+(?:-[1-9][0-9]*)?)\.[a-z]+)")


def release_of(path: str) -> tuple[str, str] | None:
    """(trial, release name) of the one release a catalogue path belongs to; None for a file of no one release."""
    found = _OWNED.fullmatch(path)
    if found is None:
        return None
    return found["trial"], found["package"] or found["named"]
