"""The paper store and the bot's memory behave the same on SQLite and PostgreSQL: one set of
tests, run on each backend (`backend` in conftest starts a real PostgreSQL for the session)."""

from __future__ import annotations

import pytest

from bot.compose import build_citewise
from bot.conversations import ConversationStore
from bot.models import Answer, AnswerStatus, Question, Turn
from knowledge.index import WeightedTerm
from knowledge.papers import Paper
from knowledge.text import content_words
from tests.backends import Backend
from tests.papers import make_papers


def _terms(text: str) -> list[WeightedTerm]:
    return [WeightedTerm(w) for w in content_words(text)]


@pytest.fixture
def filled(backend: Backend) -> Backend:
    backend.store.add_papers(make_papers())
    return backend


# ── papers ───────────────────────────────────────────────────────────────
def test_papers_are_stored_indexed_and_found(filled: Backend) -> None:
    store = filled.store
    assert store.count() == 12 and store.index.size == 12
    paper = store.get("aspirin-stroke")
    assert paper is not None and paper.authors[0] == "Maria Rossi"
    assert store.get_by_doi("10.1000/VITD.2019.1".lower()).id == "vitd-rct"
    assert set(store.get_many(["vitd-rct", "sleep-memory", "nope"])) == {"vitd-rct", "sleep-memory"}
    top = [p.id for p, _ in store.search(_terms("telomere stress"), k=3)]
    assert top[0] == "telomeres-stress"
    assert store.stats()["papers"] == 12 and store.stats()["sentences"] > 12


def test_adding_the_same_papers_again_changes_nothing(filled: Backend) -> None:
    report = filled.store.add_papers(make_papers())
    assert report.added == [] and len(report.unchanged) == 12
    assert filled.store.count() == filled.store.index.size == 12


def test_a_duplicate_fills_gaps_and_a_reused_id_is_refused(filled: Backend) -> None:
    store = filled.store
    store.add_papers([Paper(id="note", title="Short note on heart research", sentences=[])])
    merged = store.add_papers([Paper(id="note", title="Short note on heart research", sentences=["Cardiac fibrosis."],
                                     year=2020)])
    assert merged.merged == ["note"] and store.get("note").year == 2020
    assert [pid for pid, _ in store.rank(_terms("cardiac fibrosis"), 5)] == ["note"]
    conflict = store.add_papers([Paper(id="note", title="Completely different work on glaciers", sentences=["Ice."],
                                       doi="10.9/ice")])
    assert conflict.added == [] and conflict.conflicts and store.get("note").doi is None
    alias = store.add_papers([Paper(id="vitd-copy", title="x", doi="10.1000/vitd.2019.1", sentences=[])])
    assert alias.unchanged == ["vitd-rct"] and store.get("vitd-copy").id == "vitd-rct"


def test_a_failed_batch_leaves_the_store_as_it_was(filled: Backend) -> None:
    def papers():
        yield Paper(id="new-1", title="Brand new paper", sentences=["New."])
        raise RuntimeError("the source broke mid-way")

    with pytest.raises(RuntimeError):
        filled.store.add_papers(papers())
    assert filled.store.get("new-1") is None and filled.store.count() == 12


def test_files_ingested_are_remembered(backend: Backend) -> None:
    assert not backend.store.file_already_ingested("abc")
    backend.store.record_file("abc", "papers.bib", 3)
    backend.store.record_file("abc", "papers.bib", 3)
    assert backend.store.file_already_ingested("abc") and backend.store.stats()["files_ingested"] == 1


# ── the bot's memory ─────────────────────────────────────────────────────
def _turn(memory, conversation_id: str, text: str) -> Answer:
    answer = Answer(question=text, status=AnswerStatus.no_evidence)
    memory.record_turn(conversation_id, Turn(question=text, query=text, answer_id=answer.id, cited_ids=["p1"]), answer)
    return answer


def test_a_conversation_is_opened_continued_and_remembered(backend: Backend) -> None:
    memory = backend.conversations
    assert not memory.is_open("slack:T:C:1.1")
    conversation_id = memory.open("slack:T:C:1.1")
    assert memory.open("slack:T:C:1.1") == conversation_id and memory.is_open("slack:T:C:1.1")
    assert not memory.has_conversation("slack:T:C:1.1")
    first = _turn(memory, conversation_id, "does aspirin prevent stroke?")
    _turn(memory, conversation_id, "and in women?")
    memory.continue_at(conversation_id, "discord:99")
    conversation = memory.conversation("discord:99")
    assert conversation.id == conversation_id
    assert [t.question for t in conversation.turns] == ["does aspirin prevent stroke?", "and in women?"]
    assert conversation.turns[0].cited_ids == ["p1"]
    assert memory.answer(first.id) == first and memory.answer("missing") is None
    assert memory.recent_conversations("slack:", 5)[0][:3] == (conversation_id, "does aspirin prevent stroke?", 2)
    assert memory.recent_conversations("web:", 5) == []
    assert memory.stats() == {"conversations": 1, "answers": 2}


def test_feedback_is_one_vote_per_user(backend: Backend) -> None:
    memory = backend.conversations
    answer = _turn(memory, memory.open("slack:T:C:2.2"), "does salt raise blood pressure?")
    memory.record_feedback(answer.id, "U1", "up", "slack")
    memory.record_feedback(answer.id, "U1", "down", "slack")
    memory.record_feedback(answer.id, "U2", "up", "slack")
    assert memory.feedback(answer.id) == {"U1": "down", "U2": "up"}


def test_an_event_is_claimed_once(backend: Backend) -> None:
    memory, other = backend.conversations, backend.another_worker()
    assert memory.claim_event("slack:event:Ev1") is True
    assert memory.claim_event("slack:event:Ev1") is False
    assert other.claim_event("slack:event:Ev1") is False  # its holder is alive
    memory.finish_claims(["slack:event:Ev1"])
    assert memory.claim_event("slack:request:1:abc", hold=False) is True  # a replay key: finished as it is seen
    memory.retire()
    assert other.claim_event("slack:event:Ev1") is False  # finished: never again, whoever holds it
    assert other.claim_event("slack:request:1:abc") is False


def test_a_delivery_claims_its_event_and_post_together_or_not_at_all(backend: Backend) -> None:
    first, second = backend.conversations, backend.another_worker()
    post = "slack:post:C1:7.7"
    assert first.claim_delivery(["slack:event:Ev1", post], held=post)
    # The app_mention/message twin: a new event id, the same post — lost, and nothing of it is kept.
    assert not second.claim_delivery(["slack:event:Ev2", post], held=post)
    assert second.take_abandoned(["slack"]) == []
    first.retire()
    # Its holder gone: a retry of the same event finds the event finished (the keepers resume the post) ...
    assert not second.claim_delivery(["slack:event:Ev1", post], held=post)
    # ... and a new delivery of the post (another twin) takes the held post over.
    assert second.claim_delivery(["slack:event:Ev3", post], held=post)


def _hold(memory: ConversationStore, key: str, text: str = "does aspirin prevent stroke?") -> Question:
    assert memory.claim_event(key)
    question = Question(text=text, platform="slack", conversation_id=memory.open(f"slack:T:{key}"), claim=key)
    memory.hold_claim(key, question, '{"channel": "C1", "thread": "1.1"}')
    return question


def test_a_held_question_stays_with_a_live_worker_and_passes_on_when_it_stops(backend: Backend) -> None:
    memory, other = backend.conversations, backend.another_worker()
    question = _hold(memory, "slack:post:C1:1.1")
    memory.note_reply("slack:post:C1:1.1", "9.9")
    assert other.take_abandoned(["slack"]) == [] and not other.claim_event("slack:post:C1:1.1")
    memory.retire()  # the worker stopped (or went silent for the claim timeout)
    taken = other.take_abandoned(["slack"])
    assert [(c.key, c.question.id, c.question.text, c.reply_ref, c.answer_id, c.attempts) for c in taken] == [
        ("slack:post:C1:1.1", question.id, question.text, "9.9", None, 2)]
    assert taken[0].reply_to == '{"channel": "C1", "thread": "1.1"}'
    assert other.take_abandoned(["slack"]) == []  # now the taker's own
    assert not memory.claim_event("slack:post:C1:1.1")  # nor can a redelivery take it back


def test_a_recorded_answer_is_named_on_its_claim_and_a_finished_one_is_never_resumed(backend: Backend) -> None:
    memory, other = backend.conversations, backend.another_worker()
    answered = _hold(memory, "slack:post:C1:2.2")
    shown = _hold(memory, "slack:post:C1:3.3", "does salt raise blood pressure?")
    for question in (answered, shown):
        answer = Answer(question=question.text, status=AnswerStatus.no_evidence)
        memory.record_turn(question.conversation_id, Turn(question=question.text, query=question.text,
                                                         answer_id=answer.id), answer, claim=question.claim)
    memory.finish_claims(["slack:post:C1:3.3"])
    memory.retire()
    taken = other.take_abandoned(["slack"])
    assert [c.key for c in taken] == ["slack:post:C1:2.2"]
    assert other.answer(taken[0].answer_id or "").question == answered.text  # shown, not answered again
    assert other.take_abandoned(["discord"]) == []


def test_a_redelivery_takes_over_a_question_its_stopped_worker_held(backend: Backend) -> None:
    memory, other = backend.conversations, backend.another_worker()
    question = _hold(memory, "slack:post:C1:4.4")
    memory.note_reply("slack:post:C1:4.4", "8.8")
    memory.retire()
    assert other.claim_event("slack:post:C1:4.4")  # the retry on another worker answers it
    assert other.take_abandoned(["slack"]) == []  # and the keepers leave it to that worker
    again = Question(text=question.text, platform="slack", conversation_id=question.conversation_id)
    held = other.hold_claim("slack:post:C1:4.4", again, '{"channel": "C1", "thread": "1.1"}')
    # The stopped worker's question and placeholder are kept, for the retry to finish them in place.
    assert held is not None and held.question.id == question.id and held.reply_ref == "8.8"


def test_old_claims_are_pruned(backend: Backend) -> None:
    memory = backend.conversations
    assert memory.claim_event("slack:event:Ev9")
    assert memory.prune_claims() == 0  # recent: still deduping retries


async def test_a_question_is_answered_and_remembered(filled: Backend) -> None:
    core = build_citewise(filled.settings, store=filled.store, conversations=filled.conversations)
    answer = await core.answer(Question(text="Does vitamin D prevent fractures?", conversation_id="c1"))
    assert answer.status is AnswerStatus.answered
    assert {s.id for s in answer.sources} & {"vitd-rct", "vitd-meta"}
    assert filled.conversations.has_conversation("c1") and filled.conversations.answer(answer.id) == answer
