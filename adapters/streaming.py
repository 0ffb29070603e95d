"""Showing a written answer while the model writes it: paced drafts, then the verified answer.

A draft is the model's text before TrueCite has read it, so it is only ever shown as
"writing…" and always replaced: the final message is the verified answer (or the extractive
one with its note). Chat platforms get at most one edit per `interval` seconds (Slack and
Discord rate-limit edits); a failing edit stops the drafts, never the answer.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

__all__ = ["DraftThrottle", "TerminalDrafts", "DRAFT_NOTE"]

logger = logging.getLogger(__name__)

DRAFT_NOTE = "writing… (a draft: TrueCite checks every sentence before the answer stays)"


class DraftThrottle:
    """An `on_draft` hook that pushes at most one draft per `interval` seconds (time injectable)."""

    def __init__(self, push: Callable[[str], Awaitable[object]], *, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._push = push
        self._interval = interval
        self._clock = clock
        self._last: float | None = None
        self._failed = False
        self.sent = 0

    async def __call__(self, draft: str) -> None:
        now = self._clock()
        if self._failed or (self._last is not None and now - self._last < self._interval):
            return
        self._last = now
        try:
            await self._push(draft)
            self.sent += 1
        except Exception:  # noqa: BLE001 - a draft is optional; the verified answer still replaces it
            logger.info("draft edit failed; no more drafts for this answer", exc_info=True)
            self._failed = True


class TerminalDrafts:
    """Prints the model's text as it arrives (to stderr, so stdout holds only the verified answer)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stderr
        self._shown = ""

    async def __call__(self, draft: str) -> None:
        if not self._shown:
            self._out.write("writing… ")
        if draft.startswith(self._shown):
            self._out.write(draft[len(self._shown):])
        else:
            self._out.write("\n" + draft)
        self._out.flush()
        self._shown = draft

    def done(self) -> None:
        """End the draft line; what follows is the verified answer."""
        if self._shown:
            self._out.write("\n— checked by TrueCite; the answer as verified: —\n\n")
            self._out.flush()
