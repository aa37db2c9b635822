"""The requestor's commands: pull a pinned version, learn whether it is superseded."""

from __future__ import annotations
