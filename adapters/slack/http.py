"""HTTP Events API mode: `POST /slack/events` and `GET /healthz` on aiohttp.

Bolt verifies each request's signature and timestamp before any listener runs,
so a forged or stale request gets 401 and does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from adapters.listen import listen

__all__ = ["HttpServer", "EVENTS_PATH", "HEALTH_PATH"]

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


class HttpServer:
    """Serves one Bolt app over HTTP until `stop`; `port` is the bound port (useful with port 0)."""

    def __init__(self, app: AsyncApp, *, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self._mounts: list[Callable[[web.Application], None]] = []
        self._client_max_size = 1024**2  # aiohttp's default
        self.port: int | None = None

    @property
    def host(self) -> str:
        return self._host

    def mount(self, install: Callable[[web.Application], None], *, client_max_size: int = 0) -> None:
        """Serve another adapter's routes (the web chat) on this server too; call before `start`."""
        self._mounts.append(install)
        self._client_max_size = max(self._client_max_size, client_max_size)

    def _web_app(self) -> web.Application:
        web_app = web.Application(client_max_size=self._client_max_size)
        web_app.router.add_post(EVENTS_PATH, self._events)
        web_app.router.add_get(HEALTH_PATH, self._health)
        for install in self._mounts:
            install(web_app)
        return web_app

    async def _events(self, request: web.Request) -> web.Response:
        return await to_aiohttp_response(await self._app.async_dispatch(await to_bolt_request(request)))

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def start(self) -> None:
        self._runner, self.port = await listen(self._web_app(), host=self._host, port=self._requested_port)
        logger.info("slack HTTP mode listening on %s:%s%s", self._host, self.port, EVENTS_PATH)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
