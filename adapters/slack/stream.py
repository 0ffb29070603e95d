"""A written answer streamed with Slack's streaming API (`chat.startStream` / `appendStream` / `stopStream`).

Used in the assistant pane, where Slack shows streamed text natively. The first draft starts
the stream; later drafts append what is new, at most once a second; `finish` stops it and
then replaces the streamed (unverified) text with the verified answer and its buttons, so
only verified text is final. A workspace that refuses the stream methods gets no drafts (the
pane's "Searching…" status stays) and the verified answer is posted as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.slack.render import MAX_SECTION_CHARS
from adapters.streaming import DraftThrottle

__all__ = ["SlackStream"]

logger = logging.getLogger(__name__)


class SlackStream:
    """The `on_draft` hook for one answer in an assistant thread."""

    def __init__(self, client: Any, *, channel: str, thread_ts: str, user: str, team: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._where = {"channel": channel, "thread_ts": thread_ts, "recipient_user_id": user,
                       "recipient_team_id": team}
        self.ts: str | None = None
        self._sent = ""
        self._refused = False
        self.hook = DraftThrottle(self._push, clock=clock)

    async def _push(self, draft: str) -> None:
        if self._refused:
            return
        draft = draft[:MAX_SECTION_CHARS]
        if self.ts is None:
            try:
                response = await self._client.chat_startStream(markdown_text=draft, **self._where)
            except SlackApiError as exc:
                logger.info("slack stream refused (%s); the answer is posted when verified",
                            exc.response.get("error"))
                self._refused = True
                return
            self.ts = response["ts"]
        elif draft.startswith(self._sent) and len(draft) > len(self._sent):
            await self._client.chat_appendStream(channel=self._where["channel"], ts=self.ts,
                                                 markdown_text=draft[len(self._sent):])
        else:
            return  # a draft that rewrote earlier text: the verified answer will replace it all
        self._sent = draft

    async def finish(self, *, text: str, blocks: list[dict]) -> bool:
        """Stop the stream and show the verified answer in its place; False when nothing was streamed."""
        if self.ts is None:
            return False
        channel = self._where["channel"]
        try:
            await self._client.chat_stopStream(channel=channel, ts=self.ts)
        except SlackApiError as exc:
            logger.info("slack stopStream failed: %s", exc.response.get("error"))
        await self._client.chat_update(channel=channel, ts=self.ts, text=text, blocks=blocks)
        return True
