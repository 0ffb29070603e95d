"""A loopback round-robin HTTP proxy: what a load balancer in front of N Slack workers does.

Each request goes to the next worker in turn; a worker that refuses the connection (it
died) is skipped, as a load balancer's health check would. `routed` records which worker
got each request, so a test can tell where a delivery landed.
"""

from __future__ import annotations

import itertools
import logging

import aiohttp
from aiohttp import web

from fakes.loopback import serve_on_loopback

__all__ = ["RoundRobinProxy"]

logger = logging.getLogger(__name__)


class RoundRobinProxy:
    """`async with RoundRobinProxy(["http://127.0.0.1:p1", …]) as proxy:` then POST to `proxy.url + path`."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.routed: list[int] = []
        self.errors: list[str] = []
        self.down: set[int] = set()
        self._turn = itertools.cycle(range(len(upstreams)))
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RoundRobinProxy:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        start, count = next(self._turn), len(self.upstreams)
        for worker in ((start + step) % count for step in range(count)):  # each worker at most once
            if worker in self.down:
                continue
            try:
                async with self._session.request(request.method, self.upstreams[worker] + request.path_qs,
                                                 data=body, headers=headers) as resp:
                    payload = await resp.read()
                    self.routed.append(worker)
                    return web.Response(status=resp.status, body=payload)
            except aiohttp.ClientConnectionError as exc:
                self.errors.append(f"{worker}: {exc!r}")
                self.down.add(worker)  # a refused connection: out of the rotation, as a health check would
                logger.info("worker %d is down; trying the next one", worker)
        return web.Response(status=502)
