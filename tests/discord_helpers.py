"""Running the Discord adapter against the loopback fake, for the Discord tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.discord import DiscordAdapter, build_discord_adapter
from bot.core import Citewise
from bot.papers import PaperService
from bot.settings import Settings
from fakes.discord_api import FakeDiscord

__all__ = ["discord_settings", "run_adapter", "stop_adapter", "wait_until"]


def discord_settings(db_path: Path, fake: FakeDiscord, **extra: object) -> Settings:
    return Settings(db_path=db_path, discord_token="fake-token", discord_api_url=fake.api_url,
                    discord_guild_id=fake.guild_id, **extra)


async def run_adapter(
    fake: FakeDiscord, settings: Settings, core: Citewise, *, papers: PaperService | None = None
) -> tuple[DiscordAdapter, asyncio.Task[None]]:
    adapter = build_discord_adapter(settings, core, papers=papers)
    task = asyncio.create_task(adapter.start())
    await fake.wait_ready()
    return adapter, task


async def stop_adapter(adapter: DiscordAdapter, task: asyncio.Task[None], fake: FakeDiscord) -> None:
    await adapter.stop()
    await asyncio.wait_for(task, 10)
    await wait_until(lambda: not fake.connected)


async def wait_until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
