"""A written answer's drafts in Discord: the deferred "thinking…" reply edited as the model writes.

At most one edit a second (Discord rate-limits webhook edits); the caller's last edit is the
verified answer with its buttons, so a draft never stays. Mentions stay inert.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import discord

from adapters.discord.render import CONTENT_LIMIT, escape, shorten
from adapters.discord.replies import NO_PINGS
from adapters.streaming import DRAFT_NOTE, DraftThrottle

__all__ = ["render_draft", "deferred_drafts"]


def render_draft(text: str) -> str:
    note = f"\n-# {DRAFT_NOTE}"
    return shorten(escape(text), CONTENT_LIMIT - len(note)) + note


def deferred_drafts(interaction: discord.Interaction[Any], *,
                    clock: Callable[[], float] = time.monotonic) -> DraftThrottle:
    async def push(text: str) -> None:
        await interaction.edit_original_response(content=render_draft(text), allowed_mentions=NO_PINGS)

    return DraftThrottle(push, clock=clock)
