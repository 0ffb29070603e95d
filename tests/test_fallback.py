"""The live search fallback: only when the store's evidence is weak, never when offline, never past its budget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.terminal import render_answer
from bot.compose import build_citewise
from bot.core import Citewise
from bot.fallback import FALLBACK_ADDED_BY, LiveFallback, evidence_is_weak
from bot.models import Answer, AnswerStatus, Question, Source
from fakes.literature_api import Fault, LiteratureAPI
from knowledge.store import PaperStore
from tests.fakes.parts import BuggyLiterature
from tests.literature_helpers import FASTING_DOI, fake_settings

WEAK = "Does intermittent fasting improve insulin sensitivity?"
STRONG = "Does vitamin D supplementation reduce fractures?"


@pytest.fixture
async def online(literature_api: LiteratureAPI, store: PaperStore, db_path: Path) -> AsyncIterator[Citewise]:
    core = build_citewise(fake_settings(literature_api, db_path), store=store)
    yield core
    await core.aclose()


async def test_weak_evidence_searches_openalex_adds_papers_and_says_so(literature_api: LiteratureAPI, online: Citewise) -> None:
    answer = await online.answer(Question(text=WEAK, conversation_id="t1"))
    assert literature_api.requests("openalex"), "the fallback should have asked OpenAlex"
    assert literature_api.requests("openalex")[0].query["search"] == "intermittent fasting improve insulin sensitivity"
    added = online.store.get(f"doi:{FASTING_DOI}")
    assert added is not None and added.origin == "openalex" and added.added_by == FALLBACK_ADDED_BY
    assert answer.status is AnswerStatus.answered and answer.looked_beyond
    assert f"doi:{FASTING_DOI}" in [s.id for s in answer.sources]
    assert "also searched OpenAlex and added" in answer.beyond_note
    assert "Note: The team's papers had little on this" in render_answer(answer)
    assert answer.to_public_dict()["looked_beyond"] is True
    assert len(online.memory.conversation("t1").turns) == 1  # answered twice, remembered once


async def test_strong_evidence_never_leaves_the_store(literature_api: LiteratureAPI, online: Citewise) -> None:
    answer = await online.answer(Question(text=STRONG))
    assert answer.status is AnswerStatus.answered and not answer.looked_beyond
    assert literature_api.seen == []


async def test_offline_never_searches(literature_api: LiteratureAPI, store: PaperStore, db_path: Path) -> None:
    core = build_citewise(fake_settings(literature_api, db_path, offline=True), store=store)
    assert core.fallback is None
    answer = await core.answer(Question(text=WEAK))
    assert answer.status is AnswerStatus.no_evidence and not answer.looked_beyond and literature_api.seen == []


async def test_default_settings_here_are_offline(settings: object, core: Citewise) -> None:
    assert core.fallback is None  # conftest sets CITEWISE_OFFLINE: no test reaches the internet by accident


async def test_a_slow_source_costs_at_most_the_budget(literature_api: LiteratureAPI, store: PaperStore, db_path: Path) -> None:
    literature_api.fail("openalex", Fault(delay=1.0))
    core = build_citewise(fake_settings(literature_api, db_path, fallback_budget=0.3, literature_timeout=5.0), store=store)
    answer = await core.answer(Question(text=WEAK))
    # the budget, not the source's 1 s delay, ended the wait: the answer says why it did not look further
    assert answer.status is AnswerStatus.no_evidence and not answer.looked_beyond
    assert "could not (no answer within 0.3s)" in answer.beyond_note
    await core.aclose()


async def test_a_failing_source_or_a_bug_never_breaks_the_answer(
    literature_api: LiteratureAPI, online: Citewise
) -> None:
    literature_api.fail("openalex", 500, 500, 500)
    answer = await online.answer(Question(text=WEAK))
    assert answer.status is AnswerStatus.no_evidence and not answer.looked_beyond
    assert "tried to search the wider literature, but could not" in answer.beyond_note
    assert online.store.count() == 12

    buggy = LiveFallback(online.settings, online.store, literature=BuggyLiterature())  # type: ignore[arg-type]
    with_a_bug = build_citewise(online.settings, store=online.store, conversations=online.memory, fallback=buggy)
    answer = await with_a_bug.answer(Question(text="Does intermittent fasting lower glucose?"))
    assert answer.status is AnswerStatus.no_evidence


def test_weak_means_below_the_coverage_threshold(store: PaperStore) -> None:
    source = Source(n=1, id="coffee-liver", title="Coffee consumption and liver cirrhosis")
    off_topic = Answer(question="coffee quantum entanglement superconductors lattice", status=AnswerStatus.answered,
                       sources=[source])
    on_topic = off_topic.model_copy(update={"question": "Does coffee protect against liver cirrhosis?"})
    assert evidence_is_weak(off_topic, store, 0.5)
    assert not evidence_is_weak(off_topic, store, 0.1)
    assert not evidence_is_weak(on_topic, store, 0.5)
    assert evidence_is_weak(Answer(question="x", status=AnswerStatus.no_evidence), store, 0.5)
    assert not evidence_is_weak(Answer(question="", status=AnswerStatus.invalid_question), store, 0.5)
