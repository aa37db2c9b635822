"""Release IDs, and the linkage between them and the trial's own participant keys.

A participant keeps one release ID per tier in every release of a trial, so
a correction or a re-delivery lines up across the releases of a tier: the
linkage is read, extended with new random IDs for the participants the tier
has not seen, and written back. IDs are random ("R" and seven or more
digits), not derived from the key, so no one holding a release can compute
them. The linkage lives in ``datasets/TRIAL/linkage/``: a DVC-tracked
directory pushed to the restricted remote only, never copied into a release.
It also holds the key of the "shift" date mode, which must stay as secret as
the linkage itself, and the centre and technician codes of each tier (``codes``).

Why per tier: the commercial tier holds the non-commercial tier's
participants less those who refused commercial use. With one ID per
participant, anyone holding both tiers' releases would learn who refused
(the non-commercial IDs missing from the commercial release) and could join
the two tiers' records by ID. So each tier's IDs are drawn independently and
an ID is never reused across tiers: an ID names one participant in one tier.
The "shift" key stays one per trial: a participant's offset is a keyed hash
of its release ID (``columnplan``), and the ID already differs between
tiers, so the tiers' shifted dates differ too; hashing the tier in as well
would add nothing for per-tier IDs and would move the dates of the legacy
IDs below. What per-tier IDs cannot hide: both tiers release the same values
(dates apart, when shifted), so a holder of both can still match records by
their values; the IDs no longer do it for them.

Legacy linkages, kept simple: a linkage written before IDs were per tier has
no ``tier`` column. It is read with tier null on every row, meaning "every
tier": its participants keep their one ID in both tiers (it was shared
already, and a new one would break the line-up of their releases), so the
releases built from it rebuild byte for byte. Participants it has not seen
get per-tier IDs, written as rows with a tier beside the legacy rows; a
linkage with no such rows is written back as it was read, without the column.
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
from . import codes
from .rules import TIERS

if TYPE_CHECKING:
    import pyarrow as pa

FILE = "linkage.parquet"
SECRET = "shift.key"
PREFIX = "R"
MIN_DIGITS = 7
TIER = "tier"  # the column; null on a legacy row, whose ID serves every tier


@dataclass(frozen=True)
class Linkage:
    """The trial's linkage: one row per participant and tier ever released (tier, key, release_id, assigned)."""

    table: pa.Table
    secret: bytes
    codes: pa.Table | None = None  # centre and technician codes per tier (``codes``); None before any was drawn

    def mapping(self, keys: pa.Array, tier: str) -> dict[Any, str]:
        """Original key -> the tier's release ID for ``keys`` (all of which must have one)."""
        import pyarrow.compute as pc

        rows = self._serving(tier)
        wanted = rows.filter(pc.is_in(rows["key"], value_set=_as_key_type(keys, self.table)))
        return dict(zip(wanted["key"].to_pylist(), wanted["release_id"].to_pylist()))

    def shared(self, keys: pa.Array) -> bool:
        """Whether every one of ``keys`` holds a legacy ID, the same in every tier (a release of only
        such IDs says so, as it did before IDs were per tier)."""
        import pyarrow.compute as pc

        rows = self.table.filter(pc.is_in(self.table["key"], value_set=_as_key_type(keys, self.table)))
        return rows[TIER].null_count == rows.num_rows

    def _serving(self, tier: str) -> pa.Table:
        """The rows whose IDs serve ``tier``: its own, and the legacy ones."""
        import pyarrow.compute as pc

        if tier not in TIERS:
            raise InvalidInput(f"unknown tier {tier!r}; choose {' or '.join(TIERS)}")
        return self.table.filter(pc.equal(pc.fill_null(self.table[TIER], tier), tier))


def load(linkage_file: Path, secret_file: Path, codes_file: Path | None = None) -> Linkage:
    """The linkage in these files; one without a tier column is a legacy linkage (tier null)."""
    import pyarrow as pa

    table = parquet.read(linkage_file)
    if TIER not in table.column_names:
        table = table.add_column(0, pa.field(TIER, pa.string()), pa.nulls(table.num_rows, pa.string()))
    drawn = parquet.read(codes_file) if codes_file is not None and codes_file.is_file() else None
    return Linkage(table, bytes.fromhex(secret_file.read_text().strip()), drawn)


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
    return load(folder / FILE, folder / SECRET, folder / codes.FILE)


def assign(linkage: Linkage | None, keys: pa.Array, version: str, tier: str) -> tuple[Linkage, int]:
    """The linkage extended with new IDs for the ``keys`` that have none in ``tier`` (assigned in ``version``);
    and how many. The new IDs differ from every ID of every tier."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if linkage is None:
        linkage = Linkage(pa.table({TIER: pa.array([], pa.string()), "key": pa.array([], keys.type),
                                    "release_id": pa.array([], pa.string()), "assigned": pa.array([], pa.string())}),
                          secrets.token_bytes(32))
    keys = _as_key_type(keys, linkage.table)
    new = pc.filter(keys, pc.invert(pc.is_in(keys, value_set=linkage._serving(tier)["key"])))
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
    added = pa.table({TIER: pa.array([tier] * len(new), pa.string()), "key": new, "release_id": fresh,
                      "assigned": pa.array([version] * len(new), pa.string())})
    table = pa.concat_tables([linkage.table, added]).sort_by("release_id")
    return Linkage(table, linkage.secret, linkage.codes), len(new)


def write(root: Path, trial: str, linkage: Linkage) -> None:
    """Write the linkage with fixed settings: the same linkage gives the same bytes (a legacy one, as it was)."""
    folder = root / layout.trial(trial).linkage
    folder.mkdir(parents=True, exist_ok=True)
    table = linkage.table.sort_by("release_id")
    if table.num_rows and table[TIER].null_count == table.num_rows:
        table = table.drop_columns([TIER])
    # New files moved into place: the transaction's backup holds the old ones as hard links.
    parquet.write(table, folder / f".{FILE}.tmp")
    os.replace(folder / f".{FILE}.tmp", folder / FILE)
    (folder / f".{SECRET}.tmp").write_text(linkage.secret.hex() + "\n")
    os.replace(folder / f".{SECRET}.tmp", folder / SECRET)
    if linkage.codes is not None and linkage.codes.num_rows:  # none drawn: the folder stays as it was
        parquet.write(linkage.codes, folder / f".{codes.FILE}.tmp")
        os.replace(folder / f".{codes.FILE}.tmp", folder / codes.FILE)


@dataclass(frozen=True)
class Lookup:
    trial: str
    release_id: str
    key_column: str
    key: Any
    assigned: str  # the version whose release first gave the participant this ID
    tier: str | None  # the tier the ID serves; None: a legacy ID, serving every tier

    def to_json(self) -> dict[str, Any]:
        return {"trial": self.trial, "release_id": self.release_id, "tier": self.tier, "key_column": self.key_column,
                "key": self.key, "assigned": self.assigned}


def lookup(root: Path, trial: str, key_column: str, release_id: str, tier: str | None = None) -> Lookup:
    """The participant behind a release ID, for a curator (who holds the restricted remote).

    IDs never repeat across tiers, so without ``tier`` every tier is searched and the answer names it."""
    import pyarrow.compute as pc

    if tier is not None and tier not in TIERS:
        raise InvalidInput(f"unknown tier {tier!r}; choose {' or '.join(TIERS)}")
    linkage = read(root, trial)
    if linkage is None:
        raise NotFound(f"{trial} has no releases yet, so no release IDs")
    if not release_id.startswith(PREFIX) or not release_id[1:].isdigit():
        raise InvalidInput(f"invalid release ID {release_id!r}: release IDs look like {PREFIX}1234567")
    found = linkage.table.filter(pc.equal(linkage.table["release_id"], release_id))
    if found.num_rows == 0:
        raise NotFound(f"no participant of {trial} has the release ID {release_id}")
    row = found.to_pylist()[0]
    if tier is not None and row[TIER] not in (None, tier):
        raise NotFound(f"{release_id} is a {row[TIER]} release ID of {trial}, not a {tier} one")
    return Lookup(trial, release_id, key_column, row["key"], row["assigned"], row[TIER])


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
