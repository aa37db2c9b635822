"""The time ipd records in versions, logs, queries, pins and releases: UTC, to the second, ISO 8601."""

from __future__ import annotations

import datetime as dt


def now() -> str:
    """``2026-12-05T14:03:09+00:00``."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
