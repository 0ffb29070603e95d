"""A written answer from a language model (`chat.ChatClient`), kept honest by TrueCite.

The seam: the core first builds the extractive answer (quoted, verified, with its verdict)
in a worker thread; `LLMSynthesizer.write` then awaits the model with that answer's sources
as passages, checks every sentence it wrote (`verify_written`), and returns the written
answer — or the extractive one with a one-line note when the model fails or too little of
what it wrote survives. The verdict and stances stay those computed from the papers' own
sentences; the model never sets them.

Errors (all end as a note, never a traceback):

    chat.LLMError            reason: "it did not answer in time", "it was rate-limited", …
    reply.ReplyError         the reply was empty, not JSON, in another language, cited nothing
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.models import (
    Answer,
    AnswerSection,
    AnswerSentence,
    Source,
    StatementCheck,
    Verification,
    VerificationIssue,
)
from bot.pipeline.concepts import Concepts
from bot.pipeline.synthesize.chat import (
    ChatClient,
    Clock,
    Completion,
    LLMError,
    Sleeper,
)
from bot.pipeline.synthesize.prompt import build_messages, passages_of
from bot.pipeline.synthesize.reply import (
    ModelReply,
    ReplyError,
    draft_of,
    parse_reply,
    wrong_language,
)
from bot.pipeline.verify_written import (
    Grounding,
    Passage,
    ground_sentence,
    split_markers,
)
from bot.settings import Settings

__all__ = ["ChatClient", "Completion", "LLMError", "LLMSynthesizer", "OnDraft", "NOTE_PREFIX", "WritingStats"]

logger = logging.getLogger(__name__)

OnDraft = Callable[[str], Awaitable[None]]

NOTE_PREFIX = "written without the language model: "
_MIN_KEPT_SHARE = 0.5  # fewer of the written direct sentences surviving than this: the extractive answer
_MAX_SECTION_HEADING = 80
_MAX_SENTENCES = 6


@dataclass
class WritingStats:
    """Running totals over answers, for the eval's ALCE-style citation figures and the bench.

    Citation recall: the share of written sentences their own citations support (as TrueCite
    judges it, before any re-citing). Citation precision: the share of citations that support
    their sentence (a citation of an unsupported sentence, or one sharing nothing with it, is not).
    """

    answers: int = 0
    fallbacks: dict[str, int] = field(default_factory=dict)
    sentences: int = 0
    supported: int = 0
    recited: int = 0
    dropped: int = 0
    citations: int = 0
    citations_supporting: int = 0

    def add(self, direct: list[Grounding], markers: list[int]) -> None:
        self.sentences += len(direct)
        self.citations += sum(markers)
        for g in direct:
            as_cited = g.kept and not g.recited
            self.supported += as_cited
            self.recited += g.recited
            self.dropped += not g.kept
            if as_cited:
                self.citations_supporting += len(g.citations)

    @property
    def citation_recall(self) -> float:
        return self.supported / self.sentences if self.sentences else 0.0

    @property
    def citation_precision(self) -> float:
        return self.citations_supporting / self.citations if self.citations else 0.0


class LLMSynthesizer:
    """Rewrites a verified extractive answer with the model; falls back to it on any failure."""

    def __init__(self, client: ChatClient, *, token_budget: int = 4_000) -> None:
        self.client = client
        self.token_budget = token_budget
        self.stats = WritingStats()

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = time.monotonic,
                      sleep: Sleeper = asyncio.sleep) -> LLMSynthesizer:
        if not settings.llm_url:
            raise ValueError("CITEWISE_LLM_URL is not set")
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        client = ChatClient(url=settings.llm_url, model=settings.llm_model, api_key=key, timeout=settings.llm_timeout,
                            max_tokens=settings.llm_max_tokens, clock=clock, sleep=sleep)
        return cls(client, token_budget=settings.llm_token_budget)

    async def write(self, base: Answer, *, history: list[str], concepts: Concepts | None,
                    on_draft: OnDraft | None = None) -> Answer:
        """The written answer, or `base` with a note saying why the model was not used."""
        passages = passages_of(base)
        messages, fitted = build_messages(base.question, history, passages, budget_tokens=self.token_budget,
                                          reply_tokens=self.client.max_tokens)

        async def on_text(so_far: str) -> None:
            if on_draft is not None:
                draft = draft_of(so_far)
                if draft:
                    await on_draft(draft)

        completion: Completion | None = None
        try:
            completion = await self.client.complete(messages, on_text=on_text)
            reply = parse_reply(completion.text)
            if wrong_language(base.question, " ".join(reply.answer)):
                raise ReplyError("it answered in another language")
        except (LLMError, ReplyError) as exc:
            self._count(exc.reason)
            self._log(base, completion, kept=0, removed=0, recited=0, fallback=exc.reason)
            return base.model_copy(update={"synthesis_note": NOTE_PREFIX + exc.reason})
        direct = [ground_sentence(s, passages_by_n, concepts) for s in reply.answer[:_MAX_SENTENCES]] if (
            passages_by_n := {p.n: p for p in fitted}) else []
        kept = [g for g in direct if g.kept]
        recited = sum(g.recited for g in direct)
        self.stats.add(direct, [len(split_markers(s)[1]) for s in reply.answer[:_MAX_SENTENCES]])
        if not kept or len(kept) < _MIN_KEPT_SHARE * len(direct):
            reason = "TrueCite could not verify enough of what it wrote"
            self._count(reason)
            self._log(base, completion, kept=len(kept), removed=len(direct) - len(kept), recited=recited,
                      fallback=reason)
            return base.model_copy(update={"synthesis_note": NOTE_PREFIX + reason})
        self._count("")
        self._log(base, completion, kept=len(kept), removed=len(direct) - len(kept), recited=recited, fallback="")
        return self._assembled(base, reply, direct, passages_by_n)

    def _assembled(self, base: Answer, reply: ModelReply, direct: list[Grounding],
                   passages: dict[int, Passage]) -> Answer:
        """The written answer: verified sentences and sections, checked takeaways, the full report."""
        issues = [i for g in direct for i in g.issues]
        sections: list[AnswerSection] = []
        for section in reply.sections[:2]:
            checked = [ground_sentence(s, passages, None) for s in section.sentences[:3]]
            issues += [i for g in checked for i in g.issues]
            heading = split_markers(section.heading)[0][:_MAX_SECTION_HEADING]
            good = [g.sentence() for g in checked if g.kept]
            if heading and good:
                sections.append(AnswerSection(heading=heading, sentences=good))
        sources = [self._with_takeaway(s, reply.takeaways.get(s.n), passages, issues) for s in base.sources]
        checks = [StatementCheck(text=g.text[:300], n=(g.citations[0].n if g.citations else None), found=g.kept
                                 or all(i.kind == "off_question" for i in g.issues if i.kind != "recited"),
                                 relevant=not any(i.kind == "off_question" for i in g.issues)) for g in direct]
        report = Verification(
            checked_citations=base.verification.checked_citations + sum(len(split_markers(s)[1]) for s in reply.answer),
            checked_sentences=base.verification.checked_sentences + len(direct),
            removed=[*base.verification.removed, *issues],
            statements=checks,
        )
        answer = base.model_copy(update={
            "sentences": [g.sentence() for g in direct if g.kept], "sections": sections, "sources": sources,
            "verification": report, "written_by": "model",
        })
        return _renumbered(answer)

    @staticmethod
    def _with_takeaway(source: Source, takeaway: str | None, passages: dict[int, Passage],
                       issues: list[VerificationIssue]) -> Source:
        """The model's one-line takeaway when its passage says it, else the extractive one."""
        if not takeaway or source.n not in passages:
            return source
        text = split_markers(takeaway)[0]
        check: Grounding = ground_sentence(f"{text} [{source.n}]", {source.n: passages[source.n]}, None)
        if check.kept and not check.recited:
            return source.model_copy(update={"takeaway": text})
        issues += [i.model_copy(update={"kind": f"takeaway_{i.kind}"}) for i in check.issues]
        return source

    def _count(self, fallback: str) -> None:
        self.stats.answers += 1
        if fallback:
            self.stats.fallbacks[fallback] = self.stats.fallbacks.get(fallback, 0) + 1

    def _log(self, base: Answer, completion: Completion | None, *, kept: int, removed: int, recited: int,
             fallback: str) -> None:
        logger.info(
            "llm answer question=%s model=%s latency_ms=%s prompt_tokens=%s completion_tokens=%s "
            "kept=%d removed=%d recited=%d fallback=%r",
            base.question_id, self.client.model,
            f"{completion.latency * 1000:.0f}" if completion else "-",
            completion.prompt_tokens if completion else "-", completion.completion_tokens if completion else "-",
            kept, removed, recited, fallback,
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def _renumbered(answer: Answer) -> Answer:
    """Sources numbered by first citation in the text (sections and related findings after it)."""
    order: dict[int, int] = {}
    items = [*answer.sentences, *(t for s in answer.sections for t in s.sentences), *answer.further]
    for sentence in items:
        for c in sentence.citations:
            order.setdefault(c.n, len(order) + 1)

    def moved(sentences: list[AnswerSentence]) -> list[AnswerSentence]:
        return [s.model_copy(update={"citations": [c.model_copy(update={"n": order[c.n]}) for c in s.citations]})
                for s in sentences]

    sources = sorted((s.model_copy(update={"n": order[s.n]}) for s in answer.sources if s.n in order),
                     key=lambda s: s.n)
    return answer.model_copy(update={
        "sentences": moved(answer.sentences), "further": moved(answer.further), "sources": sources,
        "sections": [s.model_copy(update={"sentences": moved(s.sentences)}) for s in answer.sections],
    })
