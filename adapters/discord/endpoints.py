"""Pointing our discord.py client at another Discord (a proxy, the loopback fake in tests).

discord.py keeps its REST base and gateway URL as class attributes; changing those
would redirect every client in the process. Instead the redirection is scoped: our
client gets its own `HTTPClient` subclass (REST calls and the gateway connection), and
interaction webhooks (follow-ups) get their own adapter through discord.py's
`async_context` variable, set only in the context our client runs in.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

__all__ = ["Endpoints", "EndpointHTTPClient", "use_webhook_endpoint"]

logger = logging.getLogger(__name__)


class Endpoints:
    """Where REST and gateway traffic goes instead of Discord's own hosts (None: Discord's)."""

    def __init__(self, api_url: str | None = None, gateway_url: str | None = None) -> None:
        self.api_url = api_url.rstrip("/") if api_url else None
        self.gateway_url = yarl.URL(gateway_url) if gateway_url else None

    def rest(self, route: Route) -> None:
        """Re-base one route's URL (routes are built against `Route.BASE`)."""
        if self.api_url and route.url.startswith(Route.BASE):
            route.url = self.api_url + route.url[len(Route.BASE):]

    def gateway(self, url: str) -> str:
        """Swap Discord's default gateway for ours, keeping the query discord.py adds."""
        target = yarl.URL(url)
        default = DiscordWebSocket.DEFAULT_GATEWAY
        if self.gateway_url is None or (target.host, target.path) != (default.host, default.path):
            return url
        return str(self.gateway_url.with_query(target.query))


class EndpointHTTPClient(HTTPClient):
    """discord.py's HTTP client, sending to `endpoints` instead of discord.com."""

    def __init__(self, *args: Any, endpoints: Endpoints, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.endpoints = endpoints

    async def request(self, route: Route, **kwargs: Any) -> Any:
        self.endpoints.rest(route)
        return await super().request(route, **kwargs)

    async def ws_connect(self, url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
        return await super().ws_connect(self.endpoints.gateway(url), compress=compress)


class _EndpointWebhookAdapter(AsyncWebhookAdapter):
    def __init__(self, endpoints: Endpoints) -> None:
        super().__init__()
        self.endpoints = endpoints

    async def request(self, route: Route, *args: Any, **kwargs: Any) -> Any:
        self.endpoints.rest(route)
        return await super().request(route, *args, **kwargs)


def use_webhook_endpoint(endpoints: Endpoints) -> None:
    """Interaction follow-ups sent from this context (and the tasks it starts) go to `endpoints`."""
    if endpoints.api_url:
        async_context.set(_EndpointWebhookAdapter(endpoints))
