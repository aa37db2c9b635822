"""Sealed identifiers: how whatever leaves the restricted zone names what stays in it.

A version's fingerprint, a delivery's SHA-256 and name, the hash of an
approval file are facts about restricted bytes; published as they are, anyone
holding a guess of the data could confirm it, and a delivery's file name can
itself identify a site or a person. A package, and the catalogue, carry them
keyed with the trial's secret (the linkage's, which never leaves the
restricted zone) as HMAC-SHA-256: opaque to a requestor, recomputable by the
curator, so ``ipd verify`` can still match the two zones value for value.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

PREFIX = "sealed:"


def seal(secret: bytes, value: str) -> str:
    return PREFIX + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def sealer(secret: bytes) -> Callable[[str], str]:
    return lambda value: seal(secret, value)
