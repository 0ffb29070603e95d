"""Citewise in Slack: mentions, DMs, `/ask`, the assistant pane, threaded follow-ups.

Socket Mode is used when `SLACK_APP_TOKEN` is set, else the HTTP Events API
(`SLACK_SIGNING_SECRET`, serving on `HOST`:`PORT`; it refuses to start without a secret).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from slack_sdk.http_retry import RetryIntervalCalculator

from adapters.base import StartupError
from adapters.slack.app import SlackBot, build_app, build_web_client
from adapters.slack.http import HttpServer
from adapters.slack.oauth import build_oauth_flow
from adapters.slack.resume import SlackResumer
from adapters.slack.socket_mode import SocketModeConnection
from bot.core import Citewise
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.installations import InstallationVault

__all__ = ["SlackAdapter", "StartupError", "build_slack_adapter"]

logger = logging.getLogger(__name__)


class SlackAdapter:
    """A `ChatAdapter`: `start` serves until `stop`; `ready` is set once connected or listening."""

    name = "slack"

    def __init__(self, settings: Settings, core: Citewise, *, host: str | None = None,
                 retry_interval: RetryIntervalCalculator | None = None) -> None:
        self.bot = SlackBot(settings, core)
        self.client = build_web_client(settings, retry_interval=retry_interval)
        oauth = settings.slack_oauth_enabled
        socket_mode = settings.slack_app_token is not None and not oauth
        self.mode = "socket" if socket_mode else "http"
        flow = build_oauth_flow(settings, _vault(settings, core), self.client) if oauth else None
        self.app = build_app(settings, self.bot, self.client, verify_requests=not socket_mode, oauth_flow=flow)
        # Questions a stopped worker held are answered here, with the workspace's own token.
        self.resumer = SlackResumer(self.bot, self.client, flow.settings.installation_store if flow else None)
        self.http: HttpServer | None = None
        self.socket: SocketModeConnection | None = None
        if socket_mode:
            assert settings.slack_app_token is not None
            self.socket = SocketModeConnection(self.app, app_token=settings.slack_app_token.get_secret_value())
        else:
            secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
            self.http = HttpServer(self.app, host=host or settings.host, port=settings.port, secret=secret,
                                   claim=core.claim_event, oauth=oauth)
        self.ready = asyncio.Event()
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        if self.socket is not None:
            await self.socket.start()
        elif self.http is not None:
            await self.http.start()
        self.ready.set()
        await self._stopped.wait()

    async def stop(self) -> None:
        """Stop taking new events, then give answers in flight a moment to finish."""
        if self.socket is not None:
            await self.socket.stop()
        if self.http is not None:
            await self.http.stop()
        await self.bot.drain()
        await self.bot.papers.aclose()
        self._stopped.set()


def _vault(settings: Settings, core: Citewise) -> InstallationVault:
    """Where many workspaces' tokens live: the shared PostgreSQL database, encrypted with CITEWISE_SECRET_KEY."""
    db = getattr(core.store, "db", None)
    if type(db).__name__ != "PostgresDatabase":
        raise StartupError("Slack for many workspaces (SLACK_CLIENT_ID) keeps each workspace's token and papers apart"
                           " in PostgreSQL: set CITEWISE_DATABASE_URL=postgresql://…")
    if settings.secret_key is None:
        raise StartupError("Slack for many workspaces encrypts their tokens: set CITEWISE_SECRET_KEY (make one with"
                           " python3 -c 'from bot.installations import new_secret_key; print(new_secret_key())')")
    from bot.installations import (
        InstallationVault,  # cryptography, only for many workspaces
    )

    try:
        return InstallationVault(db, settings.secret_key)  # type: ignore[arg-type]  # checked just above
    except ValueError as exc:
        raise StartupError(str(exc)) from exc


def build_slack_adapter(settings: Settings, core: Citewise, *, host: str | None = None,
                        retry_interval: RetryIntervalCalculator | None = None) -> SlackAdapter:
    return SlackAdapter(settings, core, host=host, retry_interval=retry_interval)
