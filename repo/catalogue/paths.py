"""Every path of a catalogue, relative to its root: the curation layout's release paths, and a few of its own.

Release records and packages sit where they sit in a curation repository
(``datasets/TRIAL/releases/``), so a requestor reads either the same way.
"""

from __future__ import annotations

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
