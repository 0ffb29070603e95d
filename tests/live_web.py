"""A real web-chat server on 127.0.0.1 in a background thread, for the browser tests.

It can be restarted on the same port over the same store (to show a page loaded before
a restart keeps working), and its answers can be held until the test lets them go, so
"Searching N papers…" is seen without any test waiting on the wall clock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from adapters.web import WebAdapter
from bot.compose import build_citewise
from bot.core import Citewise
from bot.models import Question
from bot.settings import Settings
from tests.fakes.parts import ScriptedCore

__all__ = ["LiveWeb"]

_TIMEOUT = 10.0


class LiveWeb:
    def __init__(self, db_path: Path) -> None:
        self.settings = Settings(db_path=db_path, port=0)
        self.released = threading.Event()
        self.released.set()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-web", daemon=True)
        self._thread.start()
        self._adapter: WebAdapter | None = None
        self._serving: asyncio.Task[None] | None = None
        self.core: Citewise | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self._run(self._start())

    def stop(self) -> None:
        self._run(self._stop())

    def restart(self) -> None:
        """A new core and server over the same store, on the same port: nothing kept in memory survives."""
        self.stop()
        self.start()

    def close(self) -> None:
        if self._adapter is not None:
            self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_TIMEOUT)
        self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_TIMEOUT)

    async def _start(self) -> None:
        settings = self.settings.model_copy(update={"port": self.port})
        self.core = ScriptedCore(build_citewise(settings), self._held)
        self._adapter = WebAdapter(settings, self.core)
        self._serving = asyncio.create_task(self._adapter.start())
        await asyncio.wait_for(self._adapter.ready.wait(), _TIMEOUT)
        self.port = self._adapter.port

    async def _held(self, _: Question) -> None:
        """Answers wait until `released` is set (it is, unless a test clears it)."""
        if not self.released.is_set():
            await asyncio.to_thread(self.released.wait, _TIMEOUT)

    async def _stop(self) -> None:
        assert self._adapter is not None and self._serving is not None and self.core is not None
        await self._adapter.stop()
        await self._serving
        await self.core.aclose()
        self._adapter = self._serving = self.core = None
