"""ipd query: raising queries with the trialists and recording their answers."""

from __future__ import annotations
