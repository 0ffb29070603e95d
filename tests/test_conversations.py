"""The bot's own tables: migrated by bot/, readable from stores written before it owned them,
and a question reads only the recent end of its thread."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.claims import CLAIM_KEEP
from bot.compose import build_citewise
from bot.conversations import RECENT_TURNS, SQLiteConversations
from bot.models import Answer, AnswerStatus, Turn
from bot.settings import Settings
from knowledge.store import SQLitePaperStore

# The bot's tables as the paper store's first migration created them, before bot/ owned them.
_BEFORE = """
CREATE TABLE turns (conversation_id TEXT NOT NULL, position INTEGER NOT NULL, question TEXT NOT NULL,
    query TEXT NOT NULL, answer_id TEXT NOT NULL, cited_ids TEXT NOT NULL DEFAULT '[]', asked_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, position));
CREATE TABLE answers (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE INDEX answers_conversation ON answers(conversation_id);
CREATE TABLE feedback (answer_id TEXT NOT NULL, user_id TEXT NOT NULL, value TEXT NOT NULL,
    platform TEXT NOT NULL DEFAULT '', at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (answer_id, user_id));
CREATE TABLE processed_events (key TEXT PRIMARY KEY, at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
"""


def _old_store(path: Path) -> None:
    """A store file as an earlier Citewise left it: papers, plus the bot's rows in tables it did not migrate."""
    SQLitePaperStore(path).close()
    answer = Answer(id="a1", question="does aspirin prevent stroke?", status=AnswerStatus.no_evidence)
    with sqlite3.connect(path) as conn:
        conn.executescript(_BEFORE)
        conn.execute("INSERT INTO answers (id, conversation_id, body) VALUES ('a1', 'slack:T:C:1.1', ?)",
                     (answer.model_dump_json(),))
        conn.execute("INSERT INTO turns VALUES ('slack:T:C:1.1', 0, 'does aspirin prevent stroke?', 'aspirin stroke',"
                     " 'a1', ?, '2025-01-01T00:00:00+00:00')", (json.dumps(["aspirin-stroke"]),))
        conn.execute("INSERT INTO feedback (answer_id, user_id, value) VALUES ('a1', 'U1', 'up')")
        conn.execute("INSERT INTO processed_events (key) VALUES ('slack:event:Ev1')")


def test_a_store_from_before_keeps_its_conversations_answers_feedback_and_events(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_store(path)
    core = build_citewise(Settings(db_path=path))
    try:
        memory = core.memory
        assert [t.cited_ids for t in memory.conversation("slack:T:C:1.1").turns] == [["aspirin-stroke"]]
        assert memory.is_open("slack:T:C:1.1") and memory.has_conversation("slack:T:C:1.1")
        stored = memory.answer("a1")
        assert stored is not None and stored.question == "does aspirin prevent stroke?"
        assert memory.feedback("a1") == {"U1": "up"}
        assert memory.claim_event("slack:event:Ev1") is False  # a retry after the upgrade is still a retry
        assert memory.stats() == {"conversations": 1, "answers": 1}
    finally:
        core.close()
    again = build_citewise(Settings(db_path=path))  # migrating twice changes nothing
    try:
        assert len(again.memory.conversation("slack:T:C:1.1").turns) == 1
    finally:
        again.close()


def test_the_paper_store_knows_papers_only(tmp_path: Path) -> None:
    store = SQLitePaperStore(tmp_path / "new.db")
    try:
        tables = {r[0] for r in store.db.connect().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not tables & {"turns", "answers", "feedback", "processed_events", "conversation_places"}
        assert "conversations" not in store.stats() and "answers" not in store.stats()
    finally:
        store.close()


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[SQLiteConversations]:
    store = SQLitePaperStore(tmp_path / "bot.db")
    yield SQLiteConversations(store.db)
    store.close()


def test_a_question_reads_only_the_recent_end_of_a_long_thread(memory: SQLiteConversations) -> None:
    for n in range(RECENT_TURNS + 5):
        answer = Answer(question=f"question {n}", status=AnswerStatus.no_evidence)
        memory.record_turn("thread", Turn(question=f"question {n}", query=f"q{n}", answer_id=answer.id), answer)
    turns = memory.conversation("thread").turns
    assert len(turns) == RECENT_TURNS
    assert [t.question for t in turns[-2:]] == [f"question {RECENT_TURNS + 3}", f"question {RECENT_TURNS + 4}"]


def test_a_conversation_continues_at_a_second_place(memory: SQLiteConversations) -> None:
    conversation_id = memory.open("discord:reply-to:1")
    memory.continue_at(conversation_id, "discord:2")
    answer = Answer(question="q", status=AnswerStatus.no_evidence)
    memory.record_turn(conversation_id, Turn(question="q", query="q", answer_id=answer.id), answer)
    assert memory.open("discord:2") == conversation_id
    assert memory.has_conversation("discord:2") and memory.conversation("discord:2").id == conversation_id


def test_recent_conversations_lists_one_prefix_latest_first(tmp_path: Path) -> None:
    store = SQLitePaperStore(tmp_path / "store.db")
    memory = SQLiteConversations(store.db)
    try:
        for place, question, asked_at in [("web:aa", "first web question", "2026-01-01T10:00:00+00:00"),
                                          ("slack:T:C:1.1", "a Slack question", "2026-01-03T10:00:00+00:00"),
                                          ("web:bb", "second web thread", "2026-01-02T10:00:00+00:00"),
                                          ("web:aa", "a follow-up", "2026-01-04T10:00:00+00:00")]:
            answer = Answer(question=question, status=AnswerStatus.no_evidence)
            memory.record_turn(place, Turn(question=question, query=question, answer_id=answer.id,
                                           asked_at=asked_at), answer)
        rows = memory.recent_conversations("web:", 10)
        assert [(i, q, n) for i, q, n, _ in rows] == [("web:aa", "first web question", 2),
                                                      ("web:bb", "second web thread", 1)]
        assert memory.recent_conversations("web:", 1)[0][0] == "web:aa"
    finally:
        store.close()


def test_claims_and_silent_workers_are_forgotten_after_a_day_and_a_silent_worker_loses_its_claims(
    tmp_path: Path,
) -> None:
    store = SQLitePaperStore(tmp_path / "c.db")
    now = [1_000_000.0]
    memory = SQLiteConversations(store.db, claim_timeout=30, clock=lambda: now[0])
    other = SQLiteConversations(store.db, claim_timeout=30, clock=lambda: now[0])
    assert memory.claim_event("slack:post:C1:1.1")
    now[0] += 29
    assert not other.claim_event("slack:post:C1:1.1")  # 29 s of silence: still its holder's
    now[0] += 2
    other.heartbeat()
    assert other.claim_event("slack:post:C1:1.1")  # past the timeout: the holder is taken for dead
    assert other.prune_claims() == 0
    now[0] += CLAIM_KEEP + 1
    other.heartbeat()
    assert other.prune_claims() == 2  # the claim, and the worker that went silent a day ago
    store.close()
