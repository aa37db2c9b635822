"""The package's ``ro-crate-metadata.json``: the release as an RO-Crate 1.1 for the wider ecosystem.

RO-Crate tools (ro-crate-py, WorkflowHub, repositories that ingest crates)
read it to know what the package is without reading the README: the root
Dataset (name, description, version, datePublished = the approval's time, the
licence when dataset.yaml gives one), every file with its format, SHA-256 and
size, and how the release came about: a CreateAction whose instrument is
ipd-repo at its version, whose object is the source version (with its
fingerprint) and whose agent is the curator.

The DataCite relations of ``relations.at_build`` are stated in schema.org and
Dublin Core terms, the vocabularies RO-Crate builds on: ``isBasedOn``
(IsDerivedFrom: the source version and the original delivery),
``dct:isVersionOf`` (the trial) and ``dct:replaces`` (IsNewVersionOf: the
previous release of the tier). Later relations (IsObsoletedBy) cannot live in
an immutable package; see ``relations``.

Entities outside the package (the trial, the source version, the delivery,
the previous release) are CreativeWorks, not Datasets: RO-Crate takes a
Dataset or File to be part of the crate.

Deterministic bytes: every entity has a fixed ``@id`` (rocrate would give a
random one otherwise), the root's datePublished is set (rocrate would put the
time of building), the action has no start or end time (it would be the time
of building; the approval's time is the package's only time), and the JSON is
written with sorted keys. The manifest is listed but has no SHA-256: it is
written last and holds this file's.
"""

from __future__ import annotations

import email.utils
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import relations as rel

if TYPE_CHECKING:
    from .about import About

NAME = "ro-crate-metadata.json"
RO_CRATE_VERSION = "1.1"
DCT = "http://purl.org/dc/terms/"
FORMATS = {".parquet": "application/vnd.apache.parquet", ".csv": "text/csv", ".xpt": "application/x-sas-xport",
           ".yaml": "application/yaml", ".json": "application/json", ".txt": "text/plain"}


def text(folder: Path, about: About, files: dict[str, str], descriptions: dict[str, str], unhashed: list[str],
         tier_name: str) -> str:
    """The crate of the package in ``folder``: ``files`` (name -> sha256) are written; ``unhashed`` come later."""
    from rocrate.model.contextentity import ContextEntity
    from rocrate.model.person import Person
    from rocrate.model.softwareapplication import SoftwareApplication
    from rocrate.rocrate import ROCrate

    crate = ROCrate(version=RO_CRATE_VERSION)
    crate.metadata.extra_terms.update({"isVersionOf": f"{DCT}isVersionOf", "replaces": f"{DCT}replaces"})
    root = crate.root_dataset
    root["name"] = f"{about.trial} {about.version}: {tier_name}"
    root["description"] = " ".join(part for part in (about.title or about.trial, about.notes.strip()) if part)
    root["version"] = about.version
    root["datePublished"] = about.approval["when"]
    root["identifier"] = about.identifier
    if about.license:
        licence = {"@type": "CreativeWork", "name": about.license}
        root["license"] = (crate.add(ContextEntity(crate, about.license, licence))
                           if re.match(r"^https?://", about.license) else about.license)
    for name in sorted([*files, *unhashed]):
        properties = {"name": name, "description": descriptions.get(name, ""),
                      "encodingFormat": FORMATS.get(Path(name).suffix, "application/octet-stream")}
        if name in files:
            properties |= {"sha256": files[name], "contentSize": str((folder / name).stat().st_size)}
        crate.add_file(dest_path=name, properties=properties)
    derived = []
    for relation in about.relations:
        kind, identifier = relation["relationType"], relation["relatedIdentifier"]
        if kind == rel.IS_DERIVED_FROM:
            derived.append(crate.add(ContextEntity(crate, identifier, _related(about, relation))))
        elif kind == rel.IS_VERSION_OF:
            root["isVersionOf"] = crate.add(ContextEntity(crate, identifier, {
                "@type": "CreativeWork", "name": about.trial, "description": f"the trial {about.trial} as a whole"}))
        elif kind == rel.IS_NEW_VERSION_OF:
            root["replaces"] = crate.add(ContextEntity(crate, identifier, {
                "@type": "CreativeWork", "name": identifier.rsplit("/", 1)[-1],
                "description": f"the previous {about.tier} release of {about.trial}"}))
    if derived:
        root["isBasedOn"] = derived
    tool = crate.add(SoftwareApplication(crate, f"#{about.tool.get('name', 'ipd-repo')}", {
        "name": about.tool.get("name", "ipd-repo"), "version": about.tool.get("version", "")}))
    action = crate.add_action(tool, identifier=f"#release-{about.version}-{about.tier}", properties={
        "@type": "CreateAction", "name": f"de-identified {about.trial}@{about.version} for the {about.tier} tier",
        "description": f"approved by {about.approval.get('by')} on {about.approval.get('when')} (plan sha256 "
                       f"{about.approval.get('plan_sha256')})"})
    source = crate.dereference(rel.version_id(about.trial, about.version))
    if source is not None:
        action["object"] = source
    action["result"] = root
    if about.curator:
        name, address = email.utils.parseaddr(about.curator)
        action["agent"] = crate.add(Person(crate, f"mailto:{address}" if address else "#curator",
                                           {"name": name or about.curator, **({"email": address} if address else {})}))
    return json.dumps(crate.metadata.generate(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _related(about: About, relation: dict[str, Any]) -> dict[str, Any]:
    identifier = relation["relatedIdentifier"]
    if "fingerprint" in relation:
        return {"@type": "CreativeWork", "name": f"{about.trial}@{about.version}", "version": about.version,
                "identifier": relation["fingerprint"],
                "description": f"version {about.version} of {about.trial} in the ipd repository, whose rows have "
                               f"the fingerprint {relation['fingerprint']}"}
    return {"@type": "CreativeWork", "name": identifier.rsplit("/", 1)[-1],
            **({"sha256": relation["sha256"]} if "sha256" in relation else {}),
            "description": f"the delivery of the trialists that {about.trial}@{about.version} comes from"}
