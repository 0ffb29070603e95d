"""Reading the model's reply: the JSON asked for, plain prose with markers, or a failure.

Models ignore formats: some wrap the JSON in a code fence, some answer in prose. Prose with
`[n]` markers is accepted (split into sentences); something that starts like JSON but is not
valid JSON, an empty reply, or a reply without a single marker is refused with a reason the
answer's note can show. `draft_of` reads the visible answer out of a reply still streaming.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, Field, ValidationError, field_validator

from knowledge.text import STOP_WORDS, split_sentences

__all__ = ["ModelReply", "ReplySection", "ReplyError", "parse_reply", "draft_of", "wrong_language"]

_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.I)
_MARKER = re.compile(r"\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)("?)', re.S)


class ReplyError(Exception):
    """The reply cannot be used; `reason` completes "written without the language model: …"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _sentences(value: object) -> list[str]:
    if isinstance(value, str):
        return [s for s in split_sentences(value) if s.strip()]
    if isinstance(value, list):
        return [s.strip() for s in value if isinstance(s, str) and s.strip()]
    return []


class ReplySection(BaseModel):
    heading: str = ""
    sentences: list[str] = Field(default_factory=list)

    @field_validator("sentences", mode="before")
    @classmethod
    def _split(cls, value: object) -> list[str]:
        return _sentences(value)


class ModelReply(BaseModel):
    """The structured reply asked for in the prompt."""

    answer: list[str] = Field(default_factory=list)
    sections: list[ReplySection] = Field(default_factory=list)
    takeaways: dict[int, str] = Field(default_factory=dict)

    @field_validator("answer", mode="before")
    @classmethod
    def _split(cls, value: object) -> list[str]:
        return _sentences(value)

    @field_validator("sections", mode="before")
    @classmethod
    def _sections(cls, value: object) -> list[dict[str, object]]:
        return [v for v in value if isinstance(v, dict)][:4] if isinstance(value, list) else []

    @field_validator("takeaways", mode="before")
    @classmethod
    def _takeaways(cls, value: object) -> dict[int, str]:
        if isinstance(value, list):  # [{"n": 1, "text": "..."}]
            value = {str(v.get("n")): v.get("text") for v in value if isinstance(v, dict)}
        if not isinstance(value, dict):
            return {}
        out = {}
        for key, text in value.items():
            digits = re.sub(r"\D", "", str(key))
            if digits and isinstance(text, str) and text.strip():
                out[int(digits)] = text.strip()
        return out


def _unfenced(text: str) -> str:
    return _FENCE.sub("", text.strip())


def parse_reply(text: str) -> ModelReply:
    """The reply as `ModelReply`, or `ReplyError` saying why it cannot be used."""
    body = _unfenced(text)
    if not body:
        raise ReplyError("it sent an empty reply")
    if body.startswith(("{", "[")):
        try:
            reply = ModelReply.model_validate(json.loads(body))
        except (json.JSONDecodeError, ValidationError, TypeError, AttributeError):
            raise ReplyError("its reply was not valid JSON") from None
    else:
        reply = ModelReply(answer=_sentences(body))
    if not reply.answer:
        raise ReplyError("it sent an empty reply")
    if not any(_MARKER.search(s) for s in reply.answer):
        raise ReplyError("its reply cited no passage")
    return reply


def draft_of(partial: str) -> str:
    """The answer text so far of a reply still arriving (JSON or prose), markers included."""
    body = _unfenced(partial)
    if not body.startswith("{"):
        return body
    start = body.find('"answer"')
    if start < 0:
        return ""
    rest = body[start + len('"answer"'):]
    colon = rest.find(":")
    if colon < 0:
        return ""
    rest = rest[colon + 1:].lstrip()
    listed = rest.startswith("[")
    pos = 1 if listed else 0
    texts: list[str] = []
    while True:
        gap = re.match(r"[\s,]*", rest[pos:])
        pos += gap.end() if gap else 0
        match = _STRING.match(rest, pos)
        if match is None:
            break
        raw, closed = match[1], match[2]
        try:
            texts.append(json.loads(f'"{raw}"') if closed else raw.replace('\\"', '"').replace("\\n", " "))
        except json.JSONDecodeError:
            texts.append(raw)
        if not closed or not listed:
            break
        pos = match.end()
    return " ".join(t.strip() for t in texts if t.strip())


# Function words of the languages a model most often drifts into (the store's papers are English).
_FOREIGN = frozenset("""de la le les des du et est une un pas ne que qui pour dans sur avec chez sont
    der die das und ist nicht ein eine mit von zu auf für bei sind el los las y es por para con una del se
    il di che non per sono gli della dei o em os as um uma não""".split())


def _shares(text: str) -> tuple[float, float, float]:
    """(English function words, other languages' function words, letters outside the Latin script)."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    letters = [c for c in text if c.isalpha()]
    if not words:
        return 0.0, 0.0, 0.0
    english = sum(w in STOP_WORDS and w not in _FOREIGN for w in words) / len(words)
    foreign = sum(w in _FOREIGN for w in words) / len(words)
    script = sum(ord(c) > 0x24F for c in letters) / max(1, len(letters))
    return english, foreign, script


def wrong_language(question: str, answer: str) -> bool:
    """An English question answered in another language."""
    english_q, foreign_q, script_q = _shares(question)
    if english_q < 0.15 or foreign_q > english_q or script_q > 0.3:
        return False  # not asked in English: the model follows the question
    english, foreign, script = _shares(answer)
    return script > 0.3 or (foreign >= 0.1 and foreign > english)
