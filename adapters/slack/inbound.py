"""Slack payloads → neutral values: a `Post`, the router's `InboundMessage`, a conversation id.

Kept free of Bolt so the rules (what counts as a bot, which thread a reply
belongs to, how `/ask -private` is spelled) are plain functions tested alone.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from adapters.slack.files import SharedFile, to_shared_files
from bot.models import InboundFile, InboundMessage

__all__ = ["Post", "to_post", "to_inbound", "assistant_to_inbound", "question_text", "conversation_key", "parse_ask", "without_mention",
           "PRIVATE_FLAGS", "PLATFORM"]

PLATFORM = "slack"

logger = logging.getLogger(__name__)

# Message subtypes that carry a person's new words; edits, joins, deletions do not.
_ANSWERABLE_SUBTYPES = {None, "", "thread_broadcast", "file_share"}
PRIVATE_FLAGS = ("-private", "--private", "-p")

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<([^@#!][^|>]*)(?:\|([^>]*))?>")


@dataclass(frozen=True, slots=True)
class Post:
    """One message as Citewise needs it, whatever event delivered it."""

    team: str
    channel: str
    channel_type: str
    user: str
    ts: str
    thread_ts: str | None
    text: str
    from_bot: bool
    files: tuple[SharedFile, ...] = ()

    @property
    def is_dm(self) -> bool:
        return self.channel_type == "im"

    @property
    def thread(self) -> str:
        """The thread a reply belongs in: the post's thread, or a new one under the post."""
        return self.thread_ts or self.ts


def to_post(body: dict[str, Any]) -> Post | None:
    """The post inside an `app_mention` or `message` envelope, or None if it is no new post.

    Fields are read defensively (a wrong type counts as missing): this is where a
    payload's shape is first trusted, and no shape may crash the listener.
    """
    event = body.get("event") if isinstance(body, dict) else None
    if not isinstance(event, dict):
        return None
    subtype = event.get("subtype")
    channel, ts = _text(event.get("channel")), _text(event.get("ts"))
    if (subtype is not None and not isinstance(subtype, str)) or subtype not in _ANSWERABLE_SUBTYPES or not ts or not channel:
        return None
    return Post(
        team=_text(body.get("team_id")) or _text(event.get("team")),
        channel=channel,
        channel_type=_text(event.get("channel_type")) or ("im" if channel.startswith("D") else "channel"),
        user=_text(event.get("user")),
        ts=ts,
        thread_ts=_text(event.get("thread_ts")) or None,
        text=_text(event.get("text")),
        from_bot=bool(event.get("bot_id")) or subtype == "bot_message",
        files=to_shared_files(event),
    )


def _text(value: object) -> str:
    """A payload field that should be a string: anything else is treated as absent."""
    return value if isinstance(value, str) else ""


def question_text(text: str, bot_user_id: str | None = None) -> str:
    """Slack's markup read back as plain words; the bot's own mention is dropped."""
    text = _USER.sub(" ", without_mention(text, bot_user_id))
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}", text)
    text = _SPECIAL.sub(lambda m: m.group(2) or "", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def without_mention(text: str, bot_user_id: str | None) -> str:
    """The raw text with the bot's own mention taken out (links and other markup kept)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    return text.strip()


def team_of(payload: dict[str, Any]) -> str:
    """The workspace an event, slash command or button press came from ('' when it names none).

    Events carry `team_id`, commands `team_id`, interactive payloads `team.id` (or the user's).
    Every piece of work started for the payload runs for this team (knowledge.tenancy).
    """
    team = payload.get("team")
    user = payload.get("user")
    for candidate in (payload.get("team_id"), team.get("id") if isinstance(team, dict) else team,
                      user.get("team_id") if isinstance(user, dict) else None):
        if isinstance(candidate, str) and candidate:
            return candidate
    return ""


def conversation_key(team: str, channel: str, thread_ts: str) -> str:
    """One conversation per Slack thread, stable across restarts."""
    return f"slack:{team}:{channel}:{thread_ts}"


def parse_ask(text: str) -> tuple[bool, str]:
    """`/ask [-private] QUESTION` → (answer only to the asker?, question)."""
    words = text.strip().split(maxsplit=1)
    if words and words[0].lower() in PRIVATE_FLAGS:
        return True, words[1] if len(words) > 1 else ""
    return False, text.strip()


def assistant_to_inbound(body: dict[str, Any], payload: dict[str, Any], *, bot_user_id: str | None) -> InboundMessage:
    """A message in the assistant pane: a DM thread of its own."""
    team, channel, text = str(body.get("team_id") or ""), payload["channel"], payload.get("text") or ""
    return InboundMessage(
        platform=PLATFORM,
        text=question_text(text, bot_user_id),
        command_text=without_mention(text, bot_user_id),
        user=payload.get("user") or "",
        team=team,
        conversation_key=conversation_key(team, channel, payload["thread_ts"]),
        in_thread=True,
        is_dm=True,
        message_id=f"{channel}:{payload['ts']}",
        event_id=body.get("event_id") or None,
    )


def to_inbound(post: Post, *, bot_user_id: str | None, mentioned: bool, event_id: str | None) -> InboundMessage:
    """The post as the router reads it; its conversation is the thread it belongs in."""
    return InboundMessage(
        platform=PLATFORM,
        text=question_text(post.text, bot_user_id),
        command_text=without_mention(post.text, bot_user_id),  # links kept: `paper add <https://doi.org/…>`
        user=post.user,
        team=post.team,
        conversation_key=conversation_key(post.team, post.channel, post.thread),
        in_thread=post.thread_ts is not None,
        mentioned=mentioned,
        is_dm=post.is_dm,
        from_self=bool(bot_user_id) and post.user == bot_user_id,
        from_bot=post.from_bot,
        files=[InboundFile(name=f.name, size=f.size) for f in post.files],
        message_id=f"{post.channel}:{post.ts}",
        event_id=event_id or None,
    )
