"""Drives the Slack adapter in HTTP mode as Slack would: signed events, commands, button clicks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from slack_sdk.http_retry import FixedValueRetryIntervalCalculator

from adapters.slack import SlackAdapter, build_slack_adapter
from bot.core import Citewise
from bot.settings import Settings
from fakes import slack_payloads as p

__all__ = ["SECRET", "Client", "serving"]

SECRET = "test-signing-secret"
NO_BACKOFF = FixedValueRetryIntervalCalculator(fixed_internal=0.0)  # retries still happen, without waiting


class Client:
    """Sends what Slack would send to the adapter: signed JSON events, forms, interactivity."""

    def __init__(self, session: aiohttp.ClientSession, adapter: SlackAdapter) -> None:
        self.session = session
        self.adapter = adapter

    @property
    def url(self) -> str:
        assert self.adapter.http is not None
        return f"http://127.0.0.1:{self.adapter.http.port}/slack/events"

    async def send(self, body: str, content_type: str, *, retry: int | None = None, secret: str = SECRET,
                   timestamp: int | None = None) -> tuple[int, float]:
        headers = p.signed_headers(body, secret, timestamp=timestamp, content_type=content_type)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        started = time.perf_counter()
        async with self.session.post(self.url, data=body.encode(), headers=headers) as resp:
            await resp.read()
            return resp.status, time.perf_counter() - started

    async def event(self, payload: dict, **kw: object) -> int:
        status, elapsed = await self.send(json.dumps(payload), "application/json", **kw)  # type: ignore[arg-type]
        assert elapsed < 1.0, "events must be acknowledged within 1 s"
        return status

    async def command(self, fields: dict[str, str]) -> int:
        status, elapsed = await self.send(p.form_body(fields), "application/x-www-form-urlencoded")
        assert elapsed < 1.0
        return status

    async def action(self, payload: dict) -> int:
        status, elapsed = await self.send(p.interactive_body(payload), "application/x-www-form-urlencoded")
        assert elapsed < 1.0
        return status


@asynccontextmanager
async def serving(settings: Settings, core: Citewise) -> AsyncIterator[Client]:
    adapter = build_slack_adapter(settings, core, host="127.0.0.1", retry_interval=NO_BACKOFF)
    task = asyncio.create_task(adapter.start())
    await asyncio.wait_for(adapter.ready.wait(), 5)
    try:
        async with aiohttp.ClientSession() as session:
            yield Client(session, adapter)
    finally:
        await adapter.stop()
        await asyncio.wait_for(task, 5)
