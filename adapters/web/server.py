"""`WebAdapter`: the web chat as a `ChatAdapter` — its own aiohttp server, or a shared one.

On its own it binds `CITEWISE_WEB_HOST` (loopback by default) on `$PORT`. Beside Slack's
HTTP mode both must answer on the same port, so it mounts its routes on Slack's server
instead (`share`); its middleware leaves Slack's routes alone. The bind is checked when
the adapter is built, so a refusal comes before anything starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from adapters.listen import listen
from adapters.web.errors import errors_middleware
from adapters.web.handlers import WebChat
from adapters.web.security import Guard, check_bind, security_headers
from bot.compose import build_paper_service, build_router
from bot.core import Citewise
from bot.papers import PaperService
from bot.router import Router
from bot.settings import Settings
from bot.uploads import MAX_UPLOAD_BYTES

__all__ = ["WebAdapter", "SharedServer", "MAX_BODY_BYTES"]

logger = logging.getLogger(__name__)

# One upload of the largest file `/paper add` takes, plus room for the form around it.
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 2**20


class SharedServer(Protocol):
    """An aiohttp server another adapter runs (Slack's HTTP mode) that can carry our routes too."""

    @property
    def host(self) -> str: ...

    def mount(self, install: Callable[[web.Application], None], *, client_max_size: int = ...) -> None: ...


class WebAdapter:
    """A `ChatAdapter`: `start` serves until `stop`; `ready` is set once listening."""

    name = "web"
    # A page waits on its own request: a question is asked again by reloading, not resumed.
    resumer = None

    def __init__(
        self,
        settings: Settings,
        core: Citewise,
        *,
        host: str | None = None,
        port: int | None = None,
        shared: SharedServer | None = None,
        papers: PaperService | None = None,
        router: Router | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.host = shared.host if shared is not None else (host or settings.web_host)
        self.port = settings.port if port is None else port
        token = settings.web_token.get_secret_value() if settings.web_token is not None else None
        check_bind(self.host, token)
        self.guard = Guard(token)
        self.papers = papers or build_paper_service(core)
        self.chat = WebChat(core, self.papers, router or build_router(core), self.guard)
        self.max_body = max_body
        self._shared = shared
        self._runner: web.AppRunner | None = None
        self.ready = asyncio.Event()
        self._stopped = asyncio.Event()
        if shared is not None:
            shared.mount(lambda app: self.install(app, health=False), client_max_size=max_body)

    def install(self, app: web.Application, *, health: bool = True) -> None:
        """Add the chat's middleware (outermost first) and routes to an application not yet started."""
        app.middlewares.extend([security_headers, self.guard.identity, errors_middleware, self.guard.check])
        self.chat.add_routes(app, health=health)

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body)
        self.install(app)
        return app

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        if self._shared is None:
            self._runner, self.port = await listen(self.build_app(), host=self.host, port=self.port)
            logger.info("web chat listening on %s", self.url)
        else:
            logger.info("web chat served on the Slack HTTP server, port %s", self.port)
        self.ready.set()
        await self._stopped.wait()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.papers.aclose()
        self._stopped.set()
