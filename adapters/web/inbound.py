"""Translating the page's forms into the neutral vocabulary: questions, references, uploads.

Conversation ids are `web:` + 16 hex digits, so web threads never collide with Slack or
Discord ones and the thread list can ask for the web's alone. The URL carries only the
hex part (`/c/<key>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aiohttp import web

from bot.models import UploadedFile, new_id
from bot.uploads import upload_refusal

__all__ = ["PREFIX", "PLATFORM", "conversation_id", "thread_key", "is_thread_key", "to_ask", "references", "uploads"]

PREFIX = "web:"
PLATFORM = "web"
_KEY = re.compile(r"^[0-9a-f]{16}$")
_SPLIT = re.compile(r"[\s,;]+")


def is_thread_key(key: str) -> bool:
    return bool(_KEY.match(key))


def conversation_id(key: str) -> str:
    return PREFIX + key


def thread_key(conversation: str) -> str:
    return conversation.removeprefix(PREFIX)


def to_ask(form: Mapping[str, object]) -> tuple[str, str] | None:
    """The question a form asks and the conversation it asks it in (a new thread, or the one it
    names); None when it names a bad thread. The router opens the conversation."""
    text = form.get("question")
    key = form.get("thread") or ""
    if not isinstance(text, str) or not isinstance(key, str):
        return None
    if key and not is_thread_key(key):
        return None
    return text.strip(), conversation_id(key or new_id())


def references(form: Mapping[str, object]) -> list[str]:
    """DOIs, arXiv ids and links, separated by spaces, commas or semicolons."""
    text = form.get("refs")
    return [r for r in _SPLIT.split(text) if r] if isinstance(text, str) else []


def uploads(files: Sequence[object]) -> tuple[list[UploadedFile], list[str]]:
    """The uploaded paper files, and a `/paper add`-style line for each one refused unread."""
    accepted: list[UploadedFile] = []
    refused: list[str] = []
    for field in files:
        if not isinstance(field, web.FileField) or not field.filename:
            continue
        field.file.seek(0, 2)
        size = field.file.tell()
        problem = upload_refusal(field.filename, size)
        if problem is not None:
            refused.append(problem)
            continue
        field.file.seek(0)
        accepted.append(UploadedFile(filename=field.filename, data=field.file.read()))
    return accepted, refused

