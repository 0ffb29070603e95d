"""The discord.py client, its slash commands, and the `ChatAdapter` that runs them.

discord.py keeps doing what it does well — rate-limit buckets, gateway heartbeats,
reconnect and RESUME — so this module only wires events to `handlers` and points
the library at other endpoints when the settings say so (the loopback fake in tests).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import handlers, papers
from adapters.discord.replies import NO_PINGS, apologize
from adapters.discord.views import FeedbackButton, SourcesButton
from bot.core import Citewise
from bot.library import Library
from bot.settings import Settings

__all__ = ["CitewiseClient", "DiscordAdapter", "build_discord_adapter"]

logger = logging.getLogger(__name__)


class CitewiseClient(discord.Client):
    """A `discord.Client` that carries the core (buttons reach it as `interaction.client.core`)."""

    def __init__(self, core: Citewise, settings: Settings) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.discord_message_content
        super().__init__(intents=intents, allowed_mentions=NO_PINGS)
        self.core = core
        self.settings = settings
        self.library = Library(core)
        self.tree = app_commands.CommandTree(self)
        self.tree.error(self._on_command_error)
        _register_commands(self.tree, core, self.library)

    async def setup_hook(self) -> None:
        """Runs after login, before the gateway: buttons, gateway endpoint, command sync."""
        self.add_dynamic_items(SourcesButton, FeedbackButton)
        await self._point_gateway()
        await self._sync_commands()

    async def _point_gateway(self) -> None:
        """Follow an overridden REST API to its own gateway, as Discord's GET /gateway/bot says."""
        url = self.settings.discord_gateway_url
        if url is None and self.settings.discord_api_url:
            _, url, _ = await self.http.get_bot_gateway()
        if url is not None:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    async def _sync_commands(self) -> None:
        """One guild syncs instantly (handy while setting up); global commands take up to an hour."""
        guild_id = self.settings.discord_guild_id
        try:
            if guild_id is not None:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
        except discord.HTTPException:
            logger.exception("could not sync slash commands; existing ones stay registered")
            return
        logger.info("synced %d slash commands %s", len(synced), f"to guild {guild_id}" if guild_id else "globally")

    async def on_ready(self) -> None:
        logger.info("connected to Discord as %s (%d guilds)", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        if self.user is not None:
            await handlers.handle_message(self.core, self.library, message, self.user.id)

    async def _on_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        logger.error("slash command failed interaction=%s", interaction.id, exc_info=error)
        await apologize(interaction)


def _register_commands(tree: app_commands.CommandTree[Any], core: Citewise, library: Library) -> None:
    """The commands' signatures are their schemas; the bodies live in `handlers`."""

    @tree.command(name="ask", description="Ask a research question; answered from the team's papers, with citations")
    @app_commands.describe(question="What do you want to know?")
    async def ask(interaction: discord.Interaction[Any], question: app_commands.Range[str, 1, 2000]) -> None:
        await handlers.ask(core, interaction, question)

    @tree.command(name="search", description="List the papers in the store that best match a query")
    @app_commands.describe(query="Words to look for in titles and abstracts")
    async def search(interaction: discord.Interaction[Any], query: app_commands.Range[str, 1, 300]) -> None:
        await handlers.search(core, interaction, query)

    paper = app_commands.Group(name="paper", description="Grow the team's paper store, or search it")

    @paper.command(name="add", description="Add papers by DOI, arXiv id or link, or from a .bib, .ris or .pdf file")
    @app_commands.describe(refs="DOIs, arXiv ids or links, separated by spaces or commas",
                           file="A .bib, .ris or .pdf file (also .jsonl or .csv)")
    async def paper_add(
        interaction: discord.Interaction[Any],
        refs: app_commands.Range[str, 1, 2000] | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        await papers.paper_add(library, interaction, refs, file)

    @paper.command(name="search", description="The papers in the store that best match a query, with takeaways")
    @app_commands.describe(query="Words to look for in titles and abstracts")
    async def paper_search(interaction: discord.Interaction[Any], query: app_commands.Range[str, 1, 300]) -> None:
        await papers.paper_search(library, interaction, query)

    tree.add_command(paper)


@contextmanager
def _endpoints(api_url: str | None) -> Iterator[None]:
    """Point discord.py's REST (and, via `_point_gateway`, its gateway) elsewhere, then restore.

    discord.py keeps both as class attributes, so the override is process-wide for as
    long as the adapter runs; one Discord client per process is what `citewise run` has.
    """
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if api_url:
        Route.BASE = api_url.rstrip("/")
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


class DiscordAdapter:
    """Serves Citewise on Discord until stopped; discord.py reconnects on its own."""

    name = "discord"

    def __init__(self, settings: Settings, core: Citewise) -> None:
        if settings.discord_token is None:
            raise ValueError("DISCORD_TOKEN is not set")
        self._token = settings.discord_token
        self._api_url = settings.discord_api_url
        self.client = CitewiseClient(core, settings)

    async def start(self) -> None:
        with _endpoints(self._api_url):
            await self.client.start(self._token.get_secret_value(), reconnect=True)

    async def stop(self) -> None:
        await self.client.close()
        await self.client.library.aclose()


def build_discord_adapter(settings: Settings, core: Citewise) -> DiscordAdapter:
    return DiscordAdapter(settings, core)
