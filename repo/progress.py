"""How the core reports long steps without printing: the CLI passes a Progress that draws bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

Advance = Callable[[int], None]


class Progress(Protocol):
    def step(self, description: str, total: int | None = None) -> Iterator[Advance]: ...


class Silent:
    """The default: report nothing."""

    @contextmanager
    def step(self, description: str, total: int | None = None) -> Iterator[Advance]:
        yield lambda n: None


SILENT = Silent()
