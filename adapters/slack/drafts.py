"""A written answer's drafts in Slack: the "Searching…" placeholder edited as the model writes.

At most one `chat.update` a second (Slack's edit rate); the final update, by the caller,
is the verified answer with its buttons, so a draft never stays.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from adapters.slack.render import MAX_SECTION_CHARS, escape
from adapters.streaming import DRAFT_NOTE, DraftThrottle

__all__ = ["render_draft", "placeholder_drafts"]

_DRAFT_CHARS = 2_800


def render_draft(text: str) -> list[dict]:
    # Cut before escaping, so no entity is split; escaping can lengthen text up to fivefold.
    shown = escape(text[:_DRAFT_CHARS]) + ("…" if len(text) > _DRAFT_CHARS else "")
    if len(shown) > MAX_SECTION_CHARS:
        shown = escape(text[: MAX_SECTION_CHARS // 5]) + "…"
    return [{"type": "section", "text": {"type": "mrkdwn", "text": shown or "…"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{DRAFT_NOTE}_"}]}]


def placeholder_drafts(client: Any, *, channel: str, ts: str,
                       clock: Callable[[], float] = time.monotonic) -> DraftThrottle:
    async def push(text: str) -> None:
        await client.chat_update(channel=channel, ts=ts, text=escape(text)[:MAX_SECTION_CHARS],
                                 blocks=render_draft(text))

    return DraftThrottle(push, clock=clock)
