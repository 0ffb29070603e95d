"""`citewise run`: start every chat adapter whose credentials are set, and serve.

With none configured it serves the web chat on this machine instead, so the README's
first command shows what Citewise does before anyone installs a Slack or Discord app.
`CITEWISE_WEB=1` serves the web chat beside the platforms (on Slack's HTTP server when
Slack runs in HTTP mode, since both answer on `$PORT`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from adapters.base import ChatAdapter, StartupError
from adapters.web import WebAdapter, WebConfigError, build_web_adapter
from bot.compose import build_citewise
from bot.core import Citewise
from bot.recovery import ClaimKeeper
from bot.settings import Settings

__all__ = ["serve", "serve_web", "enabled_adapters"]

logger = logging.getLogger(__name__)

HOW_TO_ENABLE = """No chat platform is configured, so Citewise serves its web chat only.
To add a platform, set (in the environment or in .env):
  Slack (Socket Mode):  SLACK_BOT_TOKEN and SLACK_APP_TOKEN
  Slack (HTTP events):  SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (serves on $PORT, default 3000)
  Discord:              DISCORD_TOKEN (optional DISCORD_GUILD_ID)
See README.md, "Add Citewise to Slack" and "Add Citewise to Discord"."""


def enabled_adapters(settings: Settings, core: Citewise, *, web_only: bool = False) -> list[ChatAdapter]:
    """The platforms whose credentials are set, and the web chat when asked for or when there are none.

    Raises `WebConfigError` when the web chat may not bind where it would.
    """
    adapters: list[ChatAdapter] = []
    shared = None
    if settings.slack_enabled and not web_only:
        from adapters.slack import build_slack_adapter

        slack = build_slack_adapter(settings, core)
        shared = slack.http
        adapters.append(slack)
    if settings.discord_enabled and not web_only:
        from adapters.discord import build_discord_adapter

        adapters.append(build_discord_adapter(settings, core))
    if web_only or settings.web or not adapters:
        adapters.append(build_web_adapter(settings, core, shared=shared))
    return adapters


async def serve_web(settings: Settings) -> int:
    """`citewise web`: the web chat alone, whatever else is configured."""
    return await serve(settings, web_only=True)


async def serve(settings: Settings, *, web_only: bool = False) -> int:
    core = build_citewise(settings)
    try:
        adapters = enabled_adapters(settings, core, web_only=web_only)
    except (StartupError, WebConfigError) as exc:  # a configuration that must not serve
        print(f"citewise: {exc}", file=sys.stderr)
        core.close()
        return 2
    if not web_only and [a.name for a in adapters] == ["web"]:
        print(HOW_TO_ENABLE, file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    logger.info("serving %s with %d papers", ", ".join(a.name for a in adapters), await core.paper_count())
    keeper = ClaimKeeper(core.memory, [a.resumer for a in adapters if a.resumer is not None],
                         claim_timeout=settings.claim_timeout)
    tasks = [asyncio.create_task(a.start(), name=a.name) for a in adapters]
    keeping = asyncio.create_task(keeper.run(), name="claim keeper")
    announcer = asyncio.create_task(_announce(adapters))
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    failed = False
    for task in done:
        if task is not stopper and task.exception() is not None:
            failed = True
            logger.error("adapter %s stopped: %s", task.get_name(), task.exception())
            print(f"citewise: {task.get_name()} stopped: {task.exception()}", file=sys.stderr)
    announcer.cancel()
    for adapter in adapters:
        try:
            await adapter.stop()
        except Exception:  # noqa: BLE001 - shutting down; log and go on
            logger.exception("error while stopping %s", adapter.name)
    await keeper.stop()  # after the adapters drained: what is still held passes to the other workers now
    keeping.cancel()
    for task in tasks:
        task.cancel()
    await core.aclose()
    return 1 if failed else 0


async def _announce(adapters: list[ChatAdapter]) -> None:
    """Print where the web chat is once it listens (with `PORT=0` the OS chose the port)."""
    for web in (a for a in adapters if isinstance(a, WebAdapter)):
        await web.ready.wait()
        print(f"Citewise web chat: {web.url}", flush=True)
