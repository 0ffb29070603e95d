"""`citewise run`: start every chat adapter whose credentials are set, and serve."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from adapters.base import ChatAdapter, StartupError
from bot.core import Citewise
from bot.settings import Settings

__all__ = ["serve", "enabled_adapters"]

logger = logging.getLogger(__name__)

HOW_TO_ENABLE = """No chat platform is configured, so there is nothing to serve.
Set, in the environment or in .env:
  Slack (Socket Mode):  SLACK_BOT_TOKEN and SLACK_APP_TOKEN
  Slack (HTTP events):  SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (serves on $PORT, default 3000)
  Discord:              DISCORD_TOKEN (optional DISCORD_GUILD_ID)
See README.md, "Add Citewise to Slack" and "Add Citewise to Discord"."""


def enabled_adapters(settings: Settings, core: Citewise) -> list[ChatAdapter]:
    adapters: list[ChatAdapter] = []
    if settings.slack_enabled:
        from adapters.slack import build_slack_adapter

        adapters.append(build_slack_adapter(settings, core))
    if settings.discord_enabled:
        from adapters.discord import build_discord_adapter

        adapters.append(build_discord_adapter(settings, core))
    return adapters


async def serve(settings: Settings) -> int:
    core = Citewise(settings)
    try:
        adapters = enabled_adapters(settings, core)
    except StartupError as exc:  # a configuration that must not serve (e.g. an empty signing secret)
        print(f"citewise: {exc}", file=sys.stderr)
        core.close()
        return 2
    if not adapters:
        print(HOW_TO_ENABLE, file=sys.stderr)
        core.close()
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    logger.info("serving %s with %d papers", ", ".join(a.name for a in adapters), await core.paper_count())
    tasks = [asyncio.create_task(a.start(), name=a.name) for a in adapters]
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception() is not None:
            logger.error("adapter %s stopped: %s", task.get_name(), task.exception())
    for adapter in adapters:
        try:
            await adapter.stop()
        except Exception:  # noqa: BLE001 - shutting down; log and go on
            logger.exception("error while stopping %s", adapter.name)
    for task in tasks:
        task.cancel()
    await core.aclose()
    return 0
