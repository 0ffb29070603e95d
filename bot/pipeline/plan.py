"""Turning a question plus its conversation into what to search for.

A follow-up such as "what are its limitations?" or "tell me more about [2]" means
little on its own: the earlier topic is carried into the query (weighted down
unless the question leans on it with "it", "this", …), references to numbered
sources focus on those papers, and a few research shorthands ("RCTs") are spelled out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.models import Answer, Conversation
from knowledge.text import content_words, stem_words

__all__ = ["QueryPlan", "plan_query"]

_REFERENCE = re.compile(r"\[(\d{1,3})\]|\b(?:source|paper|reference|ref|study|citation)\s*#?\s*(\d{1,3})\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|this|that|these|those|they|them|their|theirs|such|the same|above|there)\b", re.I)
_TOPIC_WORDS = 24
_PRIOR_TURNS = 5  # papers cited this many turns back stay in play; older ones do not (bounded work per question)
_FILLER = {"tell", "more", "about", "elabor", "detail", "expand", "explain", "say", "what", "els", "anyth"}

# Research shorthands and the words papers use for them (already stemmed forms are produced later).
_EXPANSIONS: dict[str, str] = {
    "rct": "randomized controlled trial randomised",
    "rcts": "randomized controlled trials randomised",
    "limitation": "limitations limited however bias caveat further research needed small sample",
    "limitations": "limitation limited however bias caveat further research needed small sample",
    "weakness": "limitation limited however bias",
    "weaknesses": "limitation limited however bias",
    "side": "adverse events effects safety",
    "mechanism": "mechanism pathway mediated mediates",
    "mechanisms": "mechanism pathway mediated mediates",
    "meta-analysis": "meta-analysis systematic review pooled",
    "evidence": "evidence study trial",
    "mice": "mice mouse murine",
    "humans": "humans patients participants",
}


@dataclass
class QueryPlan:
    main_words: list[str]  # content words of this question (and its expansions), unstemmed
    topic_words: list[str]  # content words carried from the conversation, unstemmed
    topic_weight: float
    focus_ids: list[str] = field(default_factory=list)  # papers the question points at ("[2]")
    prior_ids: list[str] = field(default_factory=list)  # papers cited earlier in the thread
    seen: set[tuple[str, int]] = field(default_factory=set)  # (paper, sentence) the last answer already said
    query_text: str = ""  # what was effectively searched, stored with the turn
    own_words: list[str] = field(default_factory=list)  # this question's own content words, in order

    @property
    def main(self) -> list[str]:
        """Stemmed terms of this question, for sentence scoring."""
        return stem_words(self.main_words)

    @property
    def topic(self) -> list[str]:
        return [t for t in stem_words(self.topic_words) if t not in set(self.main)]

    @property
    def is_followup(self) -> bool:
        return bool(self.topic_words)


def _expansions(text: str) -> list[str]:
    lowered = text.lower()
    extra: list[str] = []
    for word in re.findall(r"[a-z][a-z\-]+", lowered):
        if word in _EXPANSIONS:
            extra.extend(content_words(_EXPANSIONS[word]))
    return extra


def plan_query(text: str, conversation: Conversation, last_answer: Answer | None) -> QueryPlan:
    own = content_words(_REFERENCE.sub(" ", text))
    main = list(dict.fromkeys([*own, *_expansions(text)]))
    focus: list[str] = []
    if last_answer is not None:
        for match in _REFERENCE.finditer(text):
            n = int(match.group(1) or match.group(2))
            source = last_answer.source(n)
            if source is not None:
                focus.append(source.id)
    if not conversation.turns:
        return QueryPlan(main_words=main, topic_words=[], topic_weight=0.0, focus_ids=focus, query_text=" ".join(own),
                         own_words=own)
    topic: list[str] = []
    for turn in conversation.turns[-2:]:
        topic.extend(content_words(turn.query))
    topic = [t for t in dict.fromkeys(topic) if t not in main][:_TOPIC_WORDS]
    substantive = [t for t in stem_words(own) if t not in _FILLER]
    leans_on_context = bool(_ANAPHORA.search(text)) or len(substantive) <= 2 or bool(focus)
    weight = 1.0 if leans_on_context else 0.35
    prior: list[str] = []
    for turn in reversed(conversation.turns[-_PRIOR_TURNS:]):
        prior.extend(i for i in turn.cited_ids if i not in prior)
    query_text = " ".join([*own, *topic]) if weight >= 1.0 else " ".join(own)
    seen: set[tuple[str, int]] = set()
    if last_answer is not None:
        for sentence in last_answer.sentences:
            for c in sentence.citations:
                source = last_answer.source(c.n)
                if source is not None and c.index is not None:
                    seen.add((source.id, c.index))
    return QueryPlan(
        seen=seen,
        main_words=main or topic,
        topic_words=topic if main else [],
        topic_weight=weight,
        focus_ids=focus,
        prior_ids=prior[:10],
        query_text=query_text or " ".join(topic),
        own_words=own,
    )
