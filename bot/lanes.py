"""Threads of their own for short store calls that must not wait behind answers.

Answers run their CPU-bound pipeline in the event loop's shared executor; under a burst every
thread there is busy. Routing a delivery (which Slack waits on for its acknowledgement) and a
worker's heartbeat (which tells the other workers it is alive) are a few milliseconds of
database work each, so they get a `Lane`: a small pool that only they use. The request's
context (its team, `knowledge.tenancy`) travels with the call, as with `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["Lane"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Lane:
    """`await lane.run(fn, *args)`: `fn` on one of the lane's own threads, in the caller's context."""

    def __init__(self, name: str, threads: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    async def run(self, work: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        context = contextvars.copy_context()
        call = functools.partial(context.run, work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        self._pool.shutdown(wait=False)
