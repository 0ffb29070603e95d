"""The neutral vocabulary every adapter speaks.

`Question` comes in, `Answer` goes out; nothing platform-specific crosses this line.
Answers are stored as JSON (for "Show sources" buttons after a restart), so every
model here round-trips through `model_dump_json` / `model_validate_json`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from knowledge.papers import Paper
from knowledge.textcheck import replace_undecodable

__all__ = [
    "Question",
    "Answer",
    "AnswerStatus",
    "Verdict",
    "Stance",
    "VerdictCounts",
    "StatementCheck",
    "Source",
    "Evidence",
    "Citation",
    "AnswerSentence",
    "AnswerSection",
    "Verification",
    "VerificationIssue",
    "Turn",
    "Conversation",
    "SearchHit",
    "InboundFile",
    "InboundMessage",
    "HeldClaim",
    "UploadedFile",
    "PaperRef",
    "RefProblem",
    "PaperReply",
    "new_id",
]


def new_id() -> str:
    """Short random id: fits Slack button values and Discord custom_ids with room to spare."""
    return uuid.uuid4().hex[:16]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Question(BaseModel):
    """One question as asked by one person, wherever they asked it."""

    text: str
    conversation_id: str = Field(default_factory=new_id)
    user_id: str = "local"
    platform: str = "terminal"
    id: str = Field(default_factory=new_id)
    asked_at: datetime = Field(default_factory=_now)
    # The delivery key this question holds until its answer is shown (bot/claims.py); None when
    # nothing could resume it (a terminal question, a platform that cannot be answered later).
    claim: str | None = None

    @field_validator("text")
    @classmethod
    def _encodable(cls, value: str) -> str:
        # Undecodable bytes (a terminal's surrogateescape, a JSON "\ud800") would crash every
        # later serialisation; as U+FFFD the question is refused in words (bot/questions.py).
        return replace_undecodable(value)


class AnswerStatus(str, Enum):
    answered = "answered"
    no_evidence = "no_evidence"
    invalid_question = "invalid_question"


class Verdict(str, Enum):
    """The bottom line for the question, computed from the cited sources' stances."""

    yes = "yes"
    no = "no"
    mixed = "mixed"
    unclear = "unclear"
    not_addressed = "not_addressed"


class Stance(str, Enum):
    """Where one source stands relative to the question, from the sentences it is cited for."""

    supports = "supports"
    contradicts = "contradicts"
    neutral = "neutral"


class VerdictCounts(BaseModel):
    """The consensus meter: how many cited sources support, contradict or are neutral."""

    supports: int = 0
    contradicts: int = 0
    neutral: int = 0


class Evidence(BaseModel):
    """One sentence quoted from a paper, with its index in the paper's sentence list."""

    index: int
    text: str


class Source(BaseModel):
    """A cited paper as shown in the source list; `n` is its citation number."""

    n: int
    id: str
    title: str
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    url: str | None = None
    takeaway: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    stance: Stance = Stance.neutral


class Citation(BaseModel):
    """Where one citation marker points: source `n`, sentence `index` of that paper."""

    n: int
    index: int | None = None


class AnswerSentence(BaseModel):
    """One sentence of the answer text and the citations that back it."""

    text: str
    citations: list[Citation]

    def render(self) -> str:
        markers = "".join(f"[{n}]" for n in dict.fromkeys(c.n for c in self.citations))
        return f"{self.text} {markers}".strip()


class AnswerSection(BaseModel):
    """A short section of a written answer for the expanded view ("What are the limitations?")."""

    heading: str
    sentences: list[AnswerSentence] = Field(default_factory=list)


class VerificationIssue(BaseModel):
    kind: str  # unknown_source | not_in_store | unsupported_sentence | off_question | misquoted_evidence
    detail: str
    n: int | None = None


class StatementCheck(BaseModel):
    """TrueCite's two checks for one cited statement: said by its paper, and on the question."""

    text: str
    n: int | None = None
    found: bool
    relevant: bool

    @property
    def kept(self) -> bool:
        return self.found and self.relevant


class Verification(BaseModel):
    """What TrueCite checked and what it had to remove."""

    checked_citations: int = 0
    checked_sentences: int = 0
    removed: list[VerificationIssue] = Field(default_factory=list)
    statements: list[StatementCheck] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when nothing had to be removed: the answer was right as assembled."""
        return not self.removed


class Answer(BaseModel):
    id: str = Field(default_factory=new_id)
    question: str
    question_id: str = ""
    conversation_id: str = ""
    status: AnswerStatus
    sentences: list[AnswerSentence] = Field(default_factory=list)
    further: list[AnswerSentence] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    verification: Verification = Field(default_factory=Verification)
    message: str = ""  # for non-answers: what to tell the user, in plain words
    searched: int = 0  # how many papers the store held when asked
    # True when the store fell short and Citewise searched the wider literature (OpenAlex, arXiv)
    # for this answer; `beyond_note` says so in plain words for every renderer.
    looked_beyond: bool = False
    beyond_note: str = ""
    # The bottom line, shown first by every renderer. `closest` holds the nearest papers of a
    # not-addressed answer: named for the reader, never cited as an answer.
    verdict: Verdict = Verdict.unclear
    verdict_text: str = ""
    verdict_counts: VerdictCounts = Field(default_factory=VerdictCounts)
    closest: list[Source] = Field(default_factory=list)
    # "extractive" (quoted sentences) or "model" (written by the language model, checked by
    # TrueCite); `synthesis_note` says in one line why a configured model was not used.
    written_by: str = "extractive"
    synthesis_note: str = ""
    sections: list[AnswerSection] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=_now)

    @property
    def text(self) -> str:
        """The compact answer with its [n] markers, or the message when there is none."""
        if self.sentences:
            return " ".join(s.render() for s in self.sentences)
        return self.message

    @property
    def cited_numbers(self) -> list[int]:
        seen: dict[int, None] = {}
        for sentence in [*self.sentences, *self.further]:
            for c in sentence.citations:
                seen.setdefault(c.n, None)
        return list(seen)

    @property
    def sources_cited(self) -> int:
        """Only sources actually cited count: what the "N sources cited" line shows."""
        cited = set(self.cited_numbers)
        return sum(1 for s in self.sources if s.n in cited)

    def source(self, n: int) -> Source | None:
        return next((s for s in self.sources if s.n == n), None)

    def to_public_dict(self) -> dict:
        """The stable JSON shape of `--json` output and of the API."""
        return {
            "id": self.id,
            "question": self.question,
            "conversation_id": self.conversation_id,
            "status": self.status.value,
            "verdict": self.verdict.value,
            "verdict_text": self.verdict_text,
            "verdict_counts": self.verdict_counts.model_dump(),
            "answer": self.text,
            "further": [s.render() for s in self.further],
            "sources_cited": self.sources_cited,
            "sources": [s.model_dump(mode="json") for s in self.sources],
            "verification": {
                "passed": self.verification.passed,
                "checked_citations": self.verification.checked_citations,
                "checked_sentences": self.verification.checked_sentences,
                "removed": [i.model_dump(mode="json") for i in self.verification.removed],
            },
            "closest": [s.model_dump(mode="json") for s in self.closest],
            "message": self.message,
            "looked_beyond": self.looked_beyond,
            "beyond_note": self.beyond_note,
            "written_by": self.written_by,
            "synthesis_note": self.synthesis_note,
            "sections": [{"heading": x.heading, "text": " ".join(t.render() for t in x.sentences)}
                         for x in self.sections],
        }


class Turn(BaseModel):
    """One question and its answer inside a conversation."""

    question: str
    query: str
    answer_id: str
    cited_ids: list[str] = Field(default_factory=list)
    asked_at: datetime = Field(default_factory=_now)


class Conversation(BaseModel):
    id: str
    turns: list[Turn] = Field(default_factory=list)


class SearchHit(BaseModel):
    """One paper in a ranked search result."""

    rank: int
    id: str
    title: str
    year: int | None = None
    score: float
    takeaway: str = ""
    url: str | None = None
    origin: str | None = None
    added_by: str | None = None
    added_at: str | None = None


class InboundFile(BaseModel):
    """A file attached to an inbound message: enough to decide, before downloading it."""

    name: str
    size: int | None = None


class InboundMessage(BaseModel):
    """One chat message as every adapter hands it to the router, whatever platform sent it.

    `conversation_key` is where this message's follow-ups arrive, when the platform knows
    it before replying (a Slack thread); None when the reply opens its own place (Discord
    opens a thread on its answer, and says so with `Router.continue_at`). `message_id`
    names the post (several deliveries of one post share it); `event_id` names one
    delivery (a platform's retries share it).
    """

    platform: str
    text: str  # the words, platform markup and the bot's own mention removed
    command_text: str | None = None  # what the `paper …` grammar reads, when it differs from `text`
    user: str
    team: str = ""  # Slack team, Discord guild
    conversation_key: str | None = None
    in_thread: bool = False
    mentioned: bool = False
    is_dm: bool = False
    from_self: bool = False  # the bot's own post, echoed back by the platform
    from_bot: bool = False
    files: list[InboundFile] = Field(default_factory=list)
    message_id: str
    event_id: str | None = None


class HeldClaim(BaseModel):
    """A question whose worker stopped before its answer was shown, handed to a live worker to finish.

    `reply_to` is the adapter's own note of where the answer goes (a Slack channel and
    thread); `reply_ref` the message already showing progress there, if one was posted;
    `answer_id` the answer, when it was recorded before the worker stopped (shown, not redone).
    """

    key: str
    team: str = ""
    platform: str
    question: Question
    reply_to: str
    reply_ref: str | None = None
    answer_id: str | None = None
    attempts: int = 1


class UploadedFile(BaseModel):
    """A file someone shared with the bot, already downloaded by the adapter."""

    filename: str
    data: bytes


class PaperRef(BaseModel):
    """One paper as a `/paper` reply lists it."""

    id: str
    title: str
    year: int | None = None
    authors: list[str] = Field(default_factory=list)
    url: str | None = None
    origin: str | None = None
    added_by: str | None = None
    added_at: str | None = None

    @classmethod
    def of(cls, paper: Paper) -> PaperRef:
        return cls(
            id=paper.id, title=paper.title, year=paper.year, authors=paper.authors[:3], url=paper.link,
            origin=paper.origin, added_by=paper.added_by, added_at=paper.added_at,
        )


class RefProblem(BaseModel):
    """A reference or file that could not be added, and why, in one line."""

    ref: str
    message: str


class PaperReply(BaseModel):
    """What the bot says back to `/paper` or a shared file; renderers lay out the lists.

    `message` is the whole reply for help and errors; `text` is the plain-text rendering
    (`bot.presenter.paper_reply_text`) for terminals, logs and notification text.
    """

    kind: Literal["added", "search", "help", "error"]
    ok: bool = True
    text: str = ""
    message: str = ""
    query: str = ""
    added: list[PaperRef] = Field(default_factory=list)
    existing: list[PaperRef] = Field(default_factory=list)
    problems: list[RefProblem] = Field(default_factory=list)
    hits: list[SearchHit] = Field(default_factory=list)
    unread: list[str] = Field(default_factory=list)  # shared files the adapter refused or could not fetch
