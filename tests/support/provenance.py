"""PROV records: the agents every record names, and the relations of a parsed record."""

from __future__ import annotations

import prov.model as pm

CURATOR = "ipd:curator/curator@example.org"
TOOL = "ipd:tool/ipd-repo/0.1.0"


def relations(doc: pm.ProvDocument, kind: type | str) -> set[tuple[str, str]]:
    """(first, second) of every relation of ``kind``, e.g. (activity, entity) of ``used``.

    ``wasRevisionOf`` is a derivation of type prov:Revision; "derivation" is every other derivation.
    """
    revision = kind == "revision"
    found = doc.get_records(pm.ProvDerivation if isinstance(kind, str) else kind)
    if isinstance(kind, str) or kind is pm.ProvDerivation:
        found = [r for r in found if (pm.PROV["Revision"] in r.get_asserted_types()) == revision]
    return {tuple(str(v) for _, v in r.formal_attributes[:2]) for r in found}
