"""Which index directory this worker process owns.

Workers on one machine must not share a tantivy index (each catches up on its own, and
tantivy lets one process write), yet a restarted worker should find its old index and
read only what is new. So each process takes the first free numbered slot under the
index root, holding an exclusive `flock` on it for as long as it lives; the kernel frees
the slot when the process dies, however it dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import IO

__all__ = ["claim_slot"]

logger = logging.getLogger(__name__)

_held: list[IO[bytes]] = []  # the open lock files, kept for the process's lifetime


def claim_slot(root: Path, *, limit: int = 256) -> Path:
    """The first numbered directory under `root` no other live process holds; now ours."""
    root.mkdir(parents=True, exist_ok=True)
    for number in range(limit):
        slot = root / f"worker-{number}"
        slot.mkdir(exist_ok=True)
        handle = open(slot / ".lock", "ab")  # noqa: SIM115  # held open on purpose
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held.append(handle)
        logger.info("process %d keeps its search index in %s", os.getpid(), slot)
        return slot
    raise RuntimeError(f"all {limit} index slots under {root} are in use")
