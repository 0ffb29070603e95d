"""Socket Mode: Slack pushes envelopes over a websocket, so no public URL is needed.

The websocket URL comes from `apps.connections.open` through the app's Web API
client, so `SLACK_API_URL` redirects it as well.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

__all__ = ["SocketModeConnection"]

logger = logging.getLogger(__name__)


class SocketModeConnection:
    def __init__(self, app: AsyncApp, *, app_token: str) -> None:
        self._handler = AsyncSocketModeHandler(app, app_token=app_token)

    async def start(self) -> None:
        await self._handler.connect_async()
        logger.info("slack Socket Mode connected")

    async def stop(self) -> None:
        await self._handler.close_async()
