"""What ``ipd show`` tells about one version: its record and its dictionary."""

from __future__ import annotations

from typing import Any

from ..repository import Repository
from ..repository.refs import Ref


def describe(repo: Repository, ref: Ref) -> dict[str, Any]:
    dataset = repo.dataset(ref.trial)
    version = dataset.version(ref.version)
    record = version.record
    metadata = dataset.metadata(at=record.version)
    return {
        "trial": record.trial,
        "title": metadata.title,
        **record.summary(),
        "parent": record.parent,
        "columns_count": len(record.columns),
        "key": record.key, **({"participant": record.participant} if record.participant else {}),
        "roles": metadata.get("roles") or {},  # as written: a status keeps its event codes
        "parts": len(record.parts),
        "bytes": sum(p.size for p in record.parts),
        "delivery": record.delivery,
        "tag": version.tag,
        "columns": metadata.columns,
        **({"participant_table": record.participant_table,
            "tables": [{"name": t.name, "key": t.key, "rows": t.rows, "columns": len(t.columns),
                        "fingerprint": t.fingerprint} for t in record.tables]} if record.tables else {}),
        **({"sources": record.sources} if record.sources else {}),  # a topic's pooled version
    }
