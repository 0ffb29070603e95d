"""The texts Citewise says in its own voice, on every platform, written once.

One apology for every failure, always with the reference id that is also in the
log line, so a user's report can be matched to what went wrong.
"""

from __future__ import annotations

from bot.models import new_id

__all__ = [
    "APOLOGY",
    "apology",
    "new_reference",
    "ANSWER_GONE",
    "FEEDBACK_THANKS",
    "ASK_USAGE",
    "CANNOT_POST",
    "searching",
]

APOLOGY = "Sorry, something went wrong on my side and I could not answer that. Please try again in a minute."

ANSWER_GONE = "That answer is no longer available, so I can't show its sources. Please ask again for a fresh one."
FEEDBACK_THANKS = "Thanks, your feedback is recorded."
ASK_USAGE = "Usage: `/ask QUESTION`, or `/ask -private QUESTION` to get the answer only for yourself."
CANNOT_POST = "I can't post in this channel. Invite me with `/invite @Citewise`, or use `/ask -private QUESTION`."


def new_reference() -> str:
    """A reference id for a failure that has no question id to name it by."""
    return new_id()


def apology(reference: str) -> str:
    return f"{APOLOGY} Reference: {reference}"


def searching(papers: int) -> str:
    return f"Searching {papers:,} papers…"
