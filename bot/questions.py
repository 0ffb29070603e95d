"""Checking a question before any work is done on it."""

from __future__ import annotations

__all__ = ["problem_with"]


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
    if not any(ch.isalnum() for ch in stripped):
        return "Please ask a question in words: that message had no letters or numbers."
    return None
