"""The release catalogue: the trust zone release holders touch.

A curation repository (deliveries, versions, correction log, queries, linkage,
on the restricted remote) is one zone. The catalogue is the other: a git
repository, paired with the release DVC remote, that holds what a release may
show and nothing else — each release's public record, its package's metadata
in git and its data files as DVC pointers into the release remote, its release
notes, a PROV record naming restricted entities only by sealed identifiers,
and a publication record that anchors the curation history (see ``anchor``).
A requestor given the catalogue URL and read access to the release remote
pulls releases, follows their status and upgrades, with the curation
repository out of reach. ``audit`` checks that no value a release removed is
anywhere in the zone: every blob of the catalogue's history and every object
of its release remote.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..backends.storage import is_local

MARKER = "catalogue.toml"
FORMAT = "ipd-catalogue/1"
SETTING = "catalogue"  # [remotes] catalogue = URL, in the curation repository's ipd.toml


def configured(settings: dict, root: Path) -> str | None:
    """The catalogue URL a curation repository's settings name, if any. A relative path there is relative to
    the repository: a catalogue the project carries in its own tree (as the example repository does)."""
    url = settings.get("remotes", {}).get(SETTING)
    if not url:
        return None
    url = str(url)
    if is_local(url) and not url.startswith("file:") and not os.path.isabs(os.path.expanduser(url)):
        return os.path.normpath(root / url)
    return url
