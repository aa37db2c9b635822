"""Release IDs, and the linkage between them and the trial's own participant keys.

A participant keeps one release ID in every release of a trial, so a
correction or a re-delivery lines up across releases: the linkage is read,
extended with new random IDs for participants it has not seen, and written
back. IDs are random ("R" and seven or more digits), not derived from the key,
so no one holding a release can compute them. The linkage lives in
``datasets/TRIAL/linkage/``: a DVC-tracked directory pushed to the restricted
remote only, never copied into a release. It also holds the key of the "shift"
date mode, which must stay as secret as the linkage itself.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import parquet, storage
from ..errors import IntegrityError, InvalidInput, NotFound
from ..repository import layout

if TYPE_CHECKING:
    import pyarrow as pa

FILE = "linkage.parquet"
SECRET = "shift.key"
PREFIX = "R"
MIN_DIGITS = 7


@dataclass(frozen=True)
class Linkage:
    """The trial's linkage: one row per participant ever released (key, release_id, assigned)."""

    table: pa.Table
    secret: bytes

    def mapping(self, keys: pa.Array) -> dict[Any, str]:
        """Original key -> release ID for ``keys`` (all of which must be in the linkage)."""
        import pyarrow.compute as pc

        wanted = self.table.filter(pc.is_in(self.table["key"], value_set=_as_key_type(keys, self.table)))
        return dict(zip(wanted["key"].to_pylist(), wanted["release_id"].to_pylist()))


def read(root: Path, trial: str) -> Linkage | None:
    """The linkage in the work tree, fetched from the restricted remote in a fresh clone; None before any release."""
    relative = layout.trial(trial).linkage
    folder = root / relative
    if not (root / layout.pointer(relative)).is_file():
        return None
    if not (folder / FILE).is_file() or not (folder / SECRET).is_file():
        storage.materialize(root, [relative], replace=True)
    if not (folder / FILE).is_file() or not (folder / SECRET).is_file():
        raise IntegrityError(f"{relative}: the linkage is in neither the work tree nor the restricted remote")
    return Linkage(parquet.read(folder / FILE), bytes.fromhex((folder / SECRET).read_text().strip()))


def assign(linkage: Linkage | None, keys: pa.Array, version: str) -> tuple[Linkage, int]:
    """The linkage extended with new IDs for the ``keys`` it lacks (assigned in ``version``); and how many."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if linkage is None:
        linkage = Linkage(pa.table({"key": pa.array([], keys.type), "release_id": pa.array([], pa.string()),
                                    "assigned": pa.array([], pa.string())}), secrets.token_bytes(32))
    keys = _as_key_type(keys, linkage.table)
    new = pc.filter(keys, pc.invert(pc.is_in(keys, value_set=linkage.table["key"])))
    if len(new) == 0:
        return linkage, 0
    taken = linkage.table["release_id"]
    digits = max(MIN_DIGITS, len(str(10 * (len(taken) + len(new)))))  # at most a tenth of the IDs in use
    rng = np.random.default_rng(secrets.randbits(128))
    fresh = pa.array([], pa.string())
    while len(fresh) < len(new):
        wanted = len(new) - len(fresh)
        drawn = np.sort(rng.integers(0, 10**digits, size=wanted + wanted // 8 + 16, dtype=np.int64))
        drawn = drawn[np.concatenate(([True], drawn[1:] != drawn[:-1]))]  # each number once
        rng.shuffle(drawn)  # the order of assignment must not follow the order of the keys
        ids = pc.binary_join_element_wise(PREFIX, pc.utf8_lpad(pa.array(drawn).cast(pa.string()), digits, "0"), "")
        ids = pc.filter(ids, pc.invert(pc.is_in(ids, value_set=pa.concat_arrays([*taken.chunks, fresh]))))
        fresh = pa.concat_arrays([fresh, ids.slice(0, wanted)])
    added = pa.table({"key": new, "release_id": fresh,
                      "assigned": pa.array([version] * len(new), pa.string())})
    table = pa.concat_tables([linkage.table, added]).sort_by("release_id")
    return Linkage(table, linkage.secret), len(new)


def write(root: Path, trial: str, linkage: Linkage) -> None:
    """Write the linkage with fixed settings: the same linkage gives the same bytes."""
    folder = root / layout.trial(trial).linkage
    folder.mkdir(parents=True, exist_ok=True)
    # New files moved into place: the transaction's backup holds the old ones as hard links.
    parquet.write(linkage.table.sort_by("release_id"), folder / f".{FILE}.tmp")
    os.replace(folder / f".{FILE}.tmp", folder / FILE)
    (folder / f".{SECRET}.tmp").write_text(linkage.secret.hex() + "\n")
    os.replace(folder / f".{SECRET}.tmp", folder / SECRET)


@dataclass(frozen=True)
class Lookup:
    trial: str
    release_id: str
    key_column: str
    key: Any
    assigned: str  # the version whose release first gave the participant this ID

    def to_json(self) -> dict[str, Any]:
        return {"trial": self.trial, "release_id": self.release_id, "key_column": self.key_column,
                "key": self.key, "assigned": self.assigned}


def lookup(root: Path, trial: str, key_column: str, release_id: str) -> Lookup:
    """The participant behind a release ID, for a curator (who holds the restricted remote)."""
    import pyarrow.compute as pc

    linkage = read(root, trial)
    if linkage is None:
        raise NotFound(f"{trial} has no releases yet, so no release IDs")
    if not release_id.startswith(PREFIX) or not release_id[1:].isdigit():
        raise InvalidInput(f"invalid release ID {release_id!r}: release IDs look like {PREFIX}1234567")
    found = linkage.table.filter(pc.equal(linkage.table["release_id"], release_id))
    if found.num_rows == 0:
        raise NotFound(f"no participant of {trial} has the release ID {release_id}")
    row = found.to_pylist()[0]
    return Lookup(trial, release_id, key_column, row["key"], row["assigned"])


def _as_key_type(keys: pa.Array, table: pa.Table) -> pa.Array:
    """The keys in the linkage's key type (a re-delivery may have read them with another type)."""
    import pyarrow as pa

    keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    wanted = table.schema.field("key").type
    if keys.type == wanted:
        return keys
    try:
        return keys.cast(wanted)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(f"the participant keys are now {keys.type}, but the linkage holds {wanted} keys: "
                           "they cannot be matched") from exc
