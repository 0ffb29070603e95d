"""Finishing Slack questions that a stopped worker held (a `bot.recovery.Resumer`).

The claim carries the question and where its answer goes (channel and thread, written by
`reply_place`); `SlackBot.answer_asked` finishes it in the placeholder that worker left and
with the answer it recorded, as it does for a question a redelivery took over. The answer
is posted with the workspace's own bot token: the single workspace's, or, for many
workspaces, the one the installation store keeps for the team.
"""

from __future__ import annotations

import logging

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from adapters.slack.app import SlackBot, build_web_client, read_reply_place
from bot import messages
from bot.models import HeldClaim, Question

__all__ = ["SlackResumer"]

logger = logging.getLogger(__name__)


class SlackResumer:
    platform = "slack"

    def __init__(self, bot: SlackBot, client: AsyncWebClient, installations: AsyncInstallationStore | None) -> None:
        self._bot = bot
        self._client = client
        self._installations = installations

    async def _client_for(self, team: str) -> AsyncWebClient | None:
        if self._installations is None:
            return self._client
        found = await self._installations.async_find_bot(enterprise_id=None, team_id=team or None)
        if found is None:
            return None
        return build_web_client(self._bot.settings, token=found.bot_token)

    async def _place(self, claim: HeldClaim) -> tuple[AsyncWebClient, str, str] | None:
        """The client and the (channel, thread) of the claim; None when the question cannot be answered any more."""
        place = read_reply_place(claim.reply_to)
        if place is None:
            logger.error("held claim %s has no readable reply place; dropped question=%s", claim.key, claim.question.id)
            await self._bot.router.finish(_held_question(claim))
            return None
        channel, thread = place
        client = await self._client_for(claim.team)
        if client is None:  # the workspace uninstalled Citewise meanwhile
            logger.info("held claim %s: workspace %s is no longer installed", claim.key, claim.team)
            await self._bot.router.finish(_held_question(claim))
            return None
        return client, channel, thread

    async def resume(self, claim: HeldClaim) -> None:
        found = await self._place(claim)
        if found is None:
            return
        client, channel, thread = found
        ask = await self._bot.router.resume(claim)
        await self._bot.answer_asked(client, ask, channel=channel, thread_ts=thread)

    async def give_up(self, claim: HeldClaim) -> None:
        found = await self._place(claim)
        if found is None:
            return
        client, channel, thread = found
        question = claim.question
        text, blocks = messages.apology(question.id), render.render_apology(question.id)
        if claim.reply_ref:
            await client.chat_update(channel=channel, ts=claim.reply_ref, text=text, blocks=blocks)
        else:
            await client.chat_postMessage(channel=channel, thread_ts=thread, text=text, blocks=blocks)
        await self._bot.router.finish(_held_question(claim))


def _held_question(claim: HeldClaim) -> Question:
    """The claim's question, holding the claim (so finishing it finishes the claim)."""
    return claim.question.model_copy(update={"claim": claim.key})
