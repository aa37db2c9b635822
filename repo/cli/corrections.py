"""ipd correct and ipd commit: staging corrections and cutting the corrected version."""

from __future__ import annotations
