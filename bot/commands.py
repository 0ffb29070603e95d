"""The `/paper` grammar: what a chat command (or a mention) asks of the store.

Pure parsing, no I/O: `bot.papers` runs the parsed command, `bot.router` uses
`paper_command_in` and `is_for_the_store` to tell adding papers from asking.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from bot.uploads import is_paper_file
from knowledge.literature import BadIdentifier, parse_identifier

__all__ = [
    "PaperCommand",
    "PAPER_USAGE",
    "parse_paper_command",
    "paper_command_in",
    "is_for_the_store",
    "split_refs",
]

_SPLIT = re.compile(r"[\s,;]+")
_COMMAND_WORDS = ("paper", "/paper", "papers")
_VERBS = ("add", "search", "find", "help")

PAPER_USAGE = (
    "Usage:\n"
    "  /paper add DOI | arXiv id | URL …   add papers by reference (doi.org, arxiv.org, openalex.org, PubMed links work)\n"
    "  /paper add  + a .bib, .ris or .pdf file   add the papers in a shared file\n"
    "  /paper search QUERY                 the best matches already in the store"
)


class PaperCommand(BaseModel):
    """One parsed `/paper …`: the verb and what it acts on."""

    verb: Literal["add", "search", "help", "unknown"]
    refs: list[str] = Field(default_factory=list)
    query: str = ""
    word: str = ""  # the verb as typed, for "I don't know '/paper WORD'"


def split_refs(text: str) -> list[str]:
    return [r for r in _SPLIT.split(text) if r]


def parse_paper_command(text: str, *, with_files: bool = False) -> PaperCommand:
    """`/paper …` text, with or without the leading `/paper`; bare identifiers mean add."""
    after = _after_command_word(text)
    words = (text if after is None else after).strip().split(None, 1)
    verb = words[0].lower() if words else ""
    rest = words[1].strip() if len(words) > 1 else ""
    if verb == "add" or (not verb and with_files):
        return PaperCommand(verb="add", refs=split_refs(rest))
    if verb in ("search", "find"):
        return PaperCommand(verb="search", query=rest)
    if verb in ("", "help", "-h", "--help"):
        return PaperCommand(verb="help")
    refs = [r for r in split_refs(text.strip()) if r.lower() not in _COMMAND_WORDS]
    if refs and all(_is_identifier(r) for r in refs):  # "/paper 10.1000/xyz" means add
        return PaperCommand(verb="add", refs=refs)
    return PaperCommand(verb="unknown", word=verb)


def paper_command_in(text: str) -> str | None:
    """The `paper …` command a mention carries ("paper add 10.1000/x"), or None when it asks a question.

    Only the command's verbs, bare identifiers or "paper" alone make a command, so
    "@Citewise paper on sleep and memory?" is answered like any other question, on
    every platform alike.
    """
    rest = _after_command_word(text)
    if rest is None:
        return None
    refs = split_refs(rest)
    if not rest or refs[0].lower() in _VERBS or all(_is_identifier(r) for r in refs):
        return rest
    return None


def is_for_the_store(command: str | None, filenames: Sequence[str], question: str) -> bool:
    """Whether a mention adds papers rather than asks: a `paper …` command, a paper file, or files with no words.

    A screenshot shared with a question is a question; a file shared on its own is
    read (or explained, when it is not a paper file).
    """
    if command is not None or any(is_paper_file(name) for name in filenames):
        return True
    return bool(filenames) and not question


def _after_command_word(text: str) -> str | None:
    """What follows a leading "paper" or "/paper" (stripped), or None when the text does not start with one."""
    words = text.strip().split(None, 1)
    if not words or words[0].lower() not in _COMMAND_WORDS:
        return None
    return words[1].strip() if len(words) > 1 else ""


def _is_identifier(text: str) -> bool:
    try:
        parse_identifier(text)
    except BadIdentifier:
        return False
    return True
