"""What the bot remembers across restarts: conversations, answers, feedback, seen events.

Everything lives in the store's SQLite file, so a "Show sources" button pressed
after a restart, a follow-up in an old thread, or a platform's retry of an event
we already answered all behave as if the bot had never stopped.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from bot.models import Answer, Conversation, Turn
from knowledge.database import Database

__all__ = ["Memory"]

logger = logging.getLogger(__name__)


class Memory:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ── conversations ─────────────────────────────────────────────────────
    def conversation(self, conversation_id: str) -> Conversation:
        rows = self._db.connect().execute(
            "SELECT question, query, answer_id, cited_ids, asked_at FROM turns WHERE conversation_id = ? ORDER BY position",
            (conversation_id,),
        ).fetchall()
        turns = [
            Turn(
                question=r["question"],
                query=r["query"],
                answer_id=r["answer_id"],
                cited_ids=json.loads(r["cited_ids"]),
                asked_at=r["asked_at"],
            )
            for r in rows
        ]
        return Conversation(id=conversation_id, turns=turns)

    def has_conversation(self, conversation_id: str) -> bool:
        row = self._db.connect().execute(
            "SELECT 1 FROM turns WHERE conversation_id = ? LIMIT 1", (conversation_id,)
        ).fetchone()
        return row is not None

    def record_turn(self, conversation_id: str, turn: Turn, answer: Answer) -> None:
        """Store the answer and append the turn, in one transaction."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO answers (id, conversation_id, body) VALUES (?, ?, ?)",
                (answer.id, conversation_id, answer.model_dump_json()),
            )
            position = conn.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM turns WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO turns (conversation_id, position, question, query, answer_id, cited_ids, asked_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    position,
                    turn.question,
                    turn.query,
                    turn.answer_id,
                    json.dumps(turn.cited_ids),
                    turn.asked_at.isoformat(),
                ),
            )

    def recent_conversations(self, prefix: str, limit: int) -> list[tuple[str, str, int, str]]:
        """(id, first question, turns, last asked_at) of the latest conversations whose id starts with `prefix`.

        A page that lists its own threads (the web chat) asks for its platform's prefix only,
        so Slack and Discord threads never show up there.
        """
        rows = self._db.connect().execute(
            "SELECT conversation_id, COUNT(*) AS turns, MAX(asked_at) AS last,"
            " (SELECT question FROM turns AS first WHERE first.conversation_id = turns.conversation_id"
            "  ORDER BY position LIMIT 1) AS question"
            " FROM turns WHERE substr(conversation_id, 1, ?) = ?"
            " GROUP BY conversation_id ORDER BY last DESC LIMIT ?",
            (len(prefix), prefix, limit),
        ).fetchall()
        return [(r["conversation_id"], r["question"], r["turns"], r["last"]) for r in rows]

    def move_conversation(self, old_id: str, new_id: str) -> None:
        """Re-key a conversation, e.g. when a Discord thread is opened on an answer."""
        with self._db.write() as conn:
            conn.execute("UPDATE turns SET conversation_id = ? WHERE conversation_id = ?", (new_id, old_id))
            conn.execute("UPDATE answers SET conversation_id = ? WHERE conversation_id = ?", (new_id, old_id))

    # ── answers ───────────────────────────────────────────────────────────
    def answer(self, answer_id: str) -> Answer | None:
        row = self._db.connect().execute("SELECT body FROM answers WHERE id = ?", (answer_id,)).fetchone()
        if row is None:
            return None
        try:
            return Answer.model_validate_json(row["body"])
        except ValueError:
            logger.exception("stored answer %s cannot be read back", answer_id)
            return None

    # ── feedback ──────────────────────────────────────────────────────────
    def record_feedback(self, answer_id: str, user_id: str, value: str, platform: str = "") -> None:
        """One vote per user per answer; a second click replaces the first."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO feedback (answer_id, user_id, value, platform) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(answer_id, user_id) DO UPDATE SET value = excluded.value, at = excluded.at",
                (answer_id, user_id, value, platform),
            )

    def feedback(self, answer_id: str) -> dict[str, str]:
        rows = self._db.connect().execute("SELECT user_id, value FROM feedback WHERE answer_id = ?", (answer_id,))
        return {r["user_id"]: r["value"] for r in rows}

    # ── event dedupe ──────────────────────────────────────────────────────
    def claim_event(self, key: str) -> bool:
        """True the first time `key` is claimed, False ever after (also across restarts)."""
        try:
            with self._db.write() as conn:
                conn.execute("INSERT INTO processed_events (key) VALUES (?)", (key,))
        except sqlite3.IntegrityError:
            return False
        return True
