"""Follow-up questions in a thread keep the conversation's context."""

from __future__ import annotations

from bot.core import Citewise
from bot.models import AnswerStatus, Question


def _ask(core: Citewise, text: str, thread: str):
    return core.answer_now(Question(text=text, conversation_id=thread))


def test_limitations_follow_up_stays_on_the_topic(core: Citewise) -> None:
    first = _ask(core, "Does calcium plus vitamin D prevent hip fractures?", "f1")
    assert first.status is AnswerStatus.answered
    follow = _ask(core, "What are its limitations?", "f1")
    assert follow.status is AnswerStatus.answered
    assert {s.id for s in follow.sources} <= {"vitd-meta", "vitd-rct"}
    assert "heterogeneity" in follow.text  # the meta-analysis's stated limitation
    # The same words asked in a fresh thread have no topic to lean on.
    fresh = _ask(core, "What are its limitations?", "f2")
    assert "heterogeneity" not in fresh.text or fresh.status is not AnswerStatus.answered


def test_tell_me_more_about_a_numbered_source_focuses_on_that_paper(core: Citewise) -> None:
    first = _ask(core, "Does vitamin D supplementation reduce fractures?", "f3")
    assert len(first.sources) >= 2
    target = first.sources[1]
    more = _ask(core, "tell me more about [2]", "f3")
    assert more.status is AnswerStatus.answered
    assert [s.id for s in more.sources] == [target.id]
    assert len(more.sentences) >= 2


def test_any_rcts_finds_the_randomised_trial_on_the_topic(core: Citewise) -> None:
    _ask(core, "Does vitamin D prevent fractures?", "f4")
    follow = _ask(core, "any RCTs?", "f4")
    assert follow.status is AnswerStatus.answered
    assert "vitd-rct" in {s.id for s in follow.sources}
    assert {s.id for s in follow.sources} <= {"vitd-rct", "vitd-meta"}


def test_a_new_topic_in_the_same_thread_is_answered_on_its_own_terms(core: Citewise) -> None:
    _ask(core, "Does vitamin D prevent fractures?", "f5")
    switched = _ask(core, "Does low-dose aspirin prevent ischemic stroke in healthy adults?", "f5")
    assert switched.sources[0].id == "aspirin-stroke"


def test_threads_are_kept_apart(core: Citewise) -> None:
    _ask(core, "Does coffee protect against liver cirrhosis?", "a")
    _ask(core, "Does sleep deprivation impair memory?", "b")
    follow_a = _ask(core, "how large was the effect?", "a")
    follow_b = _ask(core, "how large was the effect?", "b")
    assert follow_a.sources and follow_a.sources[0].id == "coffee-liver"
    assert follow_b.sources and follow_b.sources[0].id == "sleep-memory"
