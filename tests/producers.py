"""Producers for the reader-process tests: importable by name from a child process, as ingest's are."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator


def numbers(count: int) -> Iterator[int]:
    yield from range(count)


def failing_after(count: int) -> Iterator[int]:
    yield from range(count)
    raise OSError("disk gone")


def dying_after(count: int) -> Iterator[int]:
    yield from range(count)
    os._exit(3)  # killed without a word: no exception reaches the parent


def endless_with_pid() -> Iterator[int]:
    while True:
        yield os.getpid()
        time.sleep(0.01)
