"""Running a producer ahead of its consumer: in a thread, or in a separate process.

Bulk ingest alternates parsing and validating records (Python, holds the GIL) with
SQLite inserts and index feeding. A thread overlaps parsing with the part of the
inserts that releases the GIL; a separate process takes the parsing off this
interpreter's GIL altogether, which pays once a file is large enough to amortise
starting a Python process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["ahead", "from_process", "ProducerDied"]

_PIPE_BUFFER = 1 << 20

T = TypeVar("T")


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def ahead(items: Iterator[T], *, depth: int = 2) -> Iterator[T]:
    """Yield what `items` yields, computed up to `depth` items ahead in a worker thread.

    An exception in the producer is raised in the consumer, at the point it occurred;
    a consumer that stops early stops the producer.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(_Failed(exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a producer that holds a process or a file lets go of it now
        put(_DONE)

    worker = threading.Thread(target=produce, name="ingest-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)


class ProducerDied(RuntimeError):
    """The producer process ended without finishing or reporting an error (killed, out of memory)."""


def _serve(fd: int) -> None:
    """Child side: read (produce, args) from stdin, write every item to `fd`, then how it ended."""
    out = os.fdopen(fd, "wb", buffering=_PIPE_BUFFER)
    try:
        produce, args = pickle.load(sys.stdin.buffer)
        try:
            for item in produce(*args):
                pickle.dump(("item", item), out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
            ending: tuple[str, object] = ("done", None)
        except BrokenPipeError:
            return  # the consumer stopped early
        except BaseException as exc:  # noqa: BLE001  (handed to the consumer, which re-raises it)
            ending = ("failed", exc)
        try:
            message = pickle.dumps(ending, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001  (an exception that does not pickle)
            message = pickle.dumps(("failed", RuntimeError(f"{type(ending[1]).__name__}: {ending[1]}")))
        out.write(message)
    finally:
        with contextlib.suppress(BrokenPipeError):
            out.close()


def from_process(produce: Callable[..., Iterator[T]], *args: Any) -> Iterator[T]:
    """Yield what `produce(*args)` yields, computed in a separate Python process.

    `produce` must be importable by name and its arguments and items picklable. The
    process runs at most about one item ahead (the pipe blocks it). Its exception is
    raised here; a consumer that stops early stops the process. It is started as
    a plain `python -c` rather than with multiprocessing, whose "spawn" would
    re-run the caller's main script in the child and whose "fork" would copy this
    process's Tantivy and SQLite threads' locks.
    """
    if not sys.executable:  # an embedded interpreter cannot start another: produce here
        yield from produce(*args)
        return
    read_fd, write_fd = os.pipe()
    # The child must import what this process imports, from wherever it imported it.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    command = [sys.executable, "-c", f"from {__name__} import _serve; _serve({write_fd})"]
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env)
    finally:
        os.close(write_fd)  # only the child writes: its exit then shows here as end of file
    reader = os.fdopen(read_fd, "rb", buffering=_PIPE_BUFFER)
    try:
        assert process.stdin is not None
        with process.stdin:
            pickle.dump((produce, args), process.stdin)
        while True:
            try:
                kind, payload = pickle.load(reader)
            except EOFError:
                raise ProducerDied(f"the reader process ended early (exit code {process.wait()})") from None
            if kind == "done":
                return
            if kind == "failed":
                raise payload
            yield payload
    finally:
        reader.close()
        if process.poll() is None:
            process.kill()
        process.wait()
