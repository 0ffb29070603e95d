"""Citewise on Discord: `/ask`, `/search`, `/paper add|search`, mentions, thread follow-ups,
persistent source buttons.

Modules: `inbound` (events → the router's `InboundMessage`), `render` (`Answer` → content +
embeds, within limits), `views` (persistent buttons), `handlers` (the flows), `papers`
(growing the store), `client` (discord.py wiring), `endpoints` (another Discord, for this
client only).
Absolute imports (`import discord`) resolve to the library, never to this package.
"""

from __future__ import annotations

from adapters.discord.client import CitewiseClient, DiscordAdapter, build_discord_adapter

__all__ = ["CitewiseClient", "DiscordAdapter", "build_discord_adapter"]
