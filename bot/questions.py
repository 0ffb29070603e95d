"""Checking a question before any work is done on it.

This is the one gate every platform's question passes (terminal, Slack, Discord), so
what is not a question is refused here, in plain words: empty or over-long text,
text that was not valid UTF-8, and messages with no words at all — only digits, or
only a ping such as `<!channel>` or `@everyone`, which must never be answered from
whatever happens to match.
"""

from __future__ import annotations

import re

__all__ = ["problem_with"]

# Slack's special mentions (<!channel>, <!here|here>, <!subteam^S1>) and Discord's mass pings.
_PINGS = re.compile(r"<![^>]*>|@everyone\b|@here\b", re.I)


def problem_with(text: str, *, max_chars: int) -> str | None:
    """A plain-words reason the question cannot be answered as asked, or None if it is fine."""
    stripped = " ".join(text.split())
    if not stripped:
        return "Please ask a question: the message was empty."
    if len(stripped) > max_chars:
        return (
            f"That question is {len(stripped):,} characters long; the limit is {max_chars:,}. "
            "Please ask it in a sentence or two."
        )
    if "\ufffd" in stripped:
        return "That question holds bytes that are not valid text (UTF-8); please type it again."
    words = _PINGS.sub(" ", stripped)
    if words != stripped and not any(ch.isalnum() for ch in words):
        return "Please ask a question in words: that message only notified the channel; it held no question."
    if not any(ch.isalnum() for ch in words):
        return "Please ask a question in words: that message had no letters or numbers."
    if not any(ch.isalpha() for ch in words):
        return "Please ask a question in words: that message had only numbers."
    return None
