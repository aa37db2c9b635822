"""ipd diff: what changed between two versions."""

from __future__ import annotations
