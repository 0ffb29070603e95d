"""Parts a test injects instead of patching: a core whose answers it can hold back or break,
and a literature client with a bug in it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.core import Citewise
from bot.models import Answer, Question
from bot.pipeline.synthesize.llm import OnDraft

__all__ = ["ScriptedCore", "BuggyLiterature"]


class ScriptedCore(Citewise):
    """The real core over another core's parts; `before_answer` runs first (to wait, or to raise)."""

    def __init__(self, core: Citewise, before_answer: Callable[[Question], Awaitable[None]]) -> None:
        super().__init__(core.settings, core.store, core.memory, fallback=core.fallback, retriever=core.retriever,
                         synthesizer=core.synthesizer, writer=core.writer)
        self._before_answer = before_answer

    async def answer(self, question: Question, *, on_draft: OnDraft | None = None) -> Answer:
        await self._before_answer(question)
        return await super().answer(question, on_draft=on_draft)


class BuggyLiterature:
    """A `Literature` whose search fails the way a bug does (not a `LiteratureError`)."""

    async def search(self, query: str, **options: Any) -> list[Any]:
        raise RuntimeError("boom")

    async def aclose(self) -> None:
        return None
