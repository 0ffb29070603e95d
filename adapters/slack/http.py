"""HTTP Events API mode: `POST /slack/events` and `GET /healthz` on aiohttp.

Every request is checked on its raw bytes before anything parses it (see
`verify`): a forged, stale or unsigned request gets 401 and one WARNING line,
whatever its body; a signed delivery seen before (a replay, or a retry of the same
bytes) gets an empty 200 and does nothing; a signed body that is not a Slack
payload gets 400. Only then does Bolt see the request.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.base import StartupError
from adapters.listen import listen
from adapters.slack.verify import refusal, replay_key

__all__ = ["HttpServer", "EVENTS_PATH", "HEALTH_PATH", "MAX_BODY_BYTES", "payload_text"]

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
HEALTH_PATH = "/healthz"
# Slack's largest payloads (a block_actions click carrying its message) are tens of KB.
MAX_BODY_BYTES = 1024 * 1024


class HttpServer:
    """Serves one Bolt app over HTTP until `stop`; `port` is the bound port (useful with port 0).

    `claim` records a delivery key and says whether it is new (the store's processed
    events, so replays are caught after a restart too); `clock` is injectable for tests.
    """

    def __init__(
        self,
        app: AsyncApp,
        *,
        host: str,
        port: int,
        secret: str,
        claim: Callable[[str], Awaitable[bool]],
        clock: Callable[[], float] = time.time,
        oauth: bool = False,
    ) -> None:
        if not secret.strip():
            raise StartupError("SLACK_SIGNING_SECRET is empty: HTTP mode cannot tell Slack's requests from forged "
                               "ones, so it will not start. Set it to the app's Signing Secret (Basic Information).")
        self._app = app
        self._host = host
        self._requested_port = port
        self._secret = secret
        self._claim = claim
        self._clock = clock
        self._oauth = oauth
        self._runner: web.AppRunner | None = None
        self._mounts: list[Callable[[web.Application], None]] = []
        self._client_max_size = MAX_BODY_BYTES  # raised by a mounted web chat for its uploads
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
        if self._oauth:  # "Add to Slack": browsers, not Slack, call these, so nothing is signed
            web_app.router.add_get(INSTALL_PATH, self._oauth_page)
            web_app.router.add_get(REDIRECT_PATH, self._oauth_page)
        for install in self._mounts:
            install(web_app)
        return web_app

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return self._refuse(request, 413, f"body of {request.content_length:,} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(request, 413, "body over the size limit")
        reason = refusal(body, request.headers, secret=self._secret, now=self._clock())
        if reason is not None:
            return self._refuse(request, 401, reason)
        # Commands and clicks carry nothing unique, so their signed bytes are claimed once; an event
        # (JSON) is claimed by its event id and post when it is routed, before its ack (bot/router.py).
        if request.content_type != "application/json" and not await self._claim(replay_key(request.headers)):
            logger.warning("slack request from %s dropped: a replay of a delivery already handled", request.remote)
            return web.Response(status=200)
        text = payload_text(body, request.content_type)
        if text is None:
            return self._refuse(request, 400, "signed, but not a Slack payload")
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]
        return await to_aiohttp_response(await self._app.async_dispatch(bolt_request))

    async def _oauth_page(self, request: web.Request) -> web.StreamResponse:
        """Bolt's install link and OAuth redirect (state checked against the shared state store)."""
        flow = self._app.oauth_flow
        if flow is None:
            return web.Response(status=404)
        bolt_request = AsyncBoltRequest(body="", query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]
        if request.path == INSTALL_PATH:
            return await to_aiohttp_response(await flow.handle_installation(bolt_request))
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    @staticmethod
    def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
        logger.warning("slack request from %s refused with %d: %s", request.remote, status, reason)
        return web.Response(status=status)

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def start(self) -> None:
        self._runner, self.port = await listen(self._web_app(), host=self._host, port=self._requested_port)
        logger.info("slack HTTP mode listening on %s:%s%s", self._host, self.port, EVENTS_PATH)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def payload_text(body: bytes, content_type: str) -> str | None:
    """The body as text if it has a Slack payload's shape (a JSON object, or a form whose
    `payload` is one); None otherwise, so Bolt never meets a body it would choke on."""
    try:
        text = body.decode("utf-8")
        if content_type == "application/json":
            return text if isinstance(json.loads(text), dict) else None
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
        if "payload" in form:
            return text if isinstance(json.loads(form["payload"][0]), dict) else None
        return text
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
