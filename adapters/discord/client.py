"""The discord.py client, its slash commands, and the `ChatAdapter` that runs them.

discord.py keeps doing what it does well — rate-limit buckets, gateway heartbeats,
reconnect and RESUME — so this module only wires events to `handlers` and, when the
settings say so, points this client (only this one: see `endpoints`) at another
Discord, such as the loopback fake in tests.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.state import ConnectionState

from adapters.discord import handlers, inbound, papers
from adapters.discord.endpoints import EndpointHTTPClient, Endpoints, use_webhook_endpoint
from adapters.discord.replies import NO_PINGS, apologize
from adapters.discord.views import FeedbackButton, SourcesButton
from bot.compose import build_paper_service, build_router
from bot.core import Citewise
from bot.messages import new_reference
from bot.papers import PaperService
from bot.router import Router
from bot.settings import Settings
from knowledge.tenancy import team_scope

__all__ = ["CitewiseClient", "DiscordAdapter", "build_discord_adapter"]

logger = logging.getLogger(__name__)


class CitewiseClient(discord.Client):
    """A `discord.Client` that carries the core (buttons reach it as `interaction.client.core`)."""

    def __init__(self, core: Citewise, settings: Settings, *, papers: PaperService | None = None,
                 router: Router | None = None) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.discord_message_content
        self.endpoints = Endpoints(settings.discord_api_url, settings.discord_gateway_url)
        super().__init__(intents=intents, allowed_mentions=NO_PINGS)
        self.core = core
        self.settings = settings
        self.papers = papers or build_paper_service(core)
        self.router = router or build_router(core)
        self.tree = app_commands.CommandTree(self)
        self.tree.error(self._on_command_error)
        _register_commands(self.tree, core, self.papers, self.router)

    def _get_state(self, **options: Any) -> ConnectionState[Any]:
        """discord.py builds its state around `self.http`: swap in ours first (this client sets no
        connector or proxy, so the default client it replaces carried none to lose)."""
        if self.endpoints.api_url or self.endpoints.gateway_url:
            self.http = EndpointHTTPClient(self.loop, endpoints=self.endpoints)
        return super()._get_state(**options)

    async def setup_hook(self) -> None:
        """Runs after login, before the gateway: buttons, gateway endpoint, command sync."""
        self.add_dynamic_items(SourcesButton, FeedbackButton)
        await self._point_gateway()
        await self._sync_commands()

    async def _point_gateway(self) -> None:
        """Follow an overridden REST API to its own gateway, as Discord's GET /gateway/bot says."""
        if self.endpoints.gateway_url is None and self.endpoints.api_url:
            _, url, _ = await self.http.get_bot_gateway()
            self.endpoints = Endpoints(self.endpoints.api_url, url)
            if isinstance(self.http, EndpointHTTPClient):
                self.http.endpoints = self.endpoints

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
            with team_scope(inbound.team_of(message)):
                await handlers.handle_message(self.core, self.papers, self.router, message, self.user.id)

    async def _on_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        reference = new_reference()
        logger.error("slash command failed interaction=%s reference=%s", interaction.id, reference, exc_info=error)
        await apologize(interaction, reference)


def _register_commands(tree: app_commands.CommandTree[Any], core: Citewise, service: PaperService,
                       router: Router) -> None:
    """The commands' signatures are their schemas; the bodies live in `handlers`."""

    @tree.command(name="ask", description="Ask a research question; answered from the team's papers, with citations")
    @app_commands.describe(question="What do you want to know?")
    async def ask(interaction: discord.Interaction[Any], question: app_commands.Range[str, 1, 2000]) -> None:
        with team_scope(inbound.team_of(interaction)):
            await handlers.ask(core, router, interaction, question)

    @tree.command(name="search", description="List the papers in the store that best match a query")
    @app_commands.describe(query="Words to look for in titles and abstracts")
    async def search(interaction: discord.Interaction[Any], query: app_commands.Range[str, 1, 300]) -> None:
        with team_scope(inbound.team_of(interaction)):
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
        with team_scope(inbound.team_of(interaction)):
            await papers.paper_add(service, interaction, refs, file)

    @paper.command(name="search", description="The papers in the store that best match a query, with takeaways")
    @app_commands.describe(query="Words to look for in titles and abstracts")
    async def paper_search(interaction: discord.Interaction[Any], query: app_commands.Range[str, 1, 300]) -> None:
        with team_scope(inbound.team_of(interaction)):
            await papers.paper_search(service, interaction, query)

    tree.add_command(paper)


class DiscordAdapter:
    """Serves Citewise on Discord until stopped; discord.py reconnects on its own."""

    name = "discord"
    # A gateway message is not redelivered to another worker, so nothing here resumes a question.
    resumer = None

    def __init__(self, settings: Settings, core: Citewise, *, papers: PaperService | None = None) -> None:
        if settings.discord_token is None:
            raise ValueError("DISCORD_TOKEN is not set")
        self._token = settings.discord_token
        self.client = CitewiseClient(core, settings, papers=papers)

    async def start(self) -> None:
        use_webhook_endpoint(self.client.endpoints)  # this task's context: only our client's follow-ups
        await self.client.start(self._token.get_secret_value(), reconnect=True)

    async def stop(self) -> None:
        await self.client.close()
        await self.client.papers.aclose()


def build_discord_adapter(settings: Settings, core: Citewise, *, papers: PaperService | None = None) -> DiscordAdapter:
    return DiscordAdapter(settings, core, papers=papers)
