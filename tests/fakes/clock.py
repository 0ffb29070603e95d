"""A clock that only moves when something sleeps on it: waits are recorded, never spent."""

from __future__ import annotations

import asyncio

__all__ = ["FakeClock"]


class FakeClock:
    """A `knowledge.literature.Clock`; `slept` lists every wait asked for, in order."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # still yield, as a real sleep would

    @property
    def waited(self) -> float:
        return sum(self.slept)
