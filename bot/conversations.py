"""What the bot remembers across restarts: conversations, answers, feedback, seen events.

The bot's tables live in the paper store's SQLite file (one file to back up) but are
the bot's own: this module creates and migrates them, versioned in `bot_schema`,
separately from `knowledge/`'s papers. A "Show sources" button pressed after a
restart, a follow-up in an old thread, or a platform's retry of an event already
answered all behave as if the bot had never stopped.

A conversation is reached through *places*: the platform's key for where its
follow-ups arrive (a Slack thread, a Discord thread). It is opened at the place the
question was asked; a platform that only learns the follow-up place after replying
(Discord opens a thread on its answer) adds that place with `continue_at`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Protocol

from bot.claims import CLAIM_TIMEOUT, SQLITE_CLAIM_MIGRATION, ClaimLedger, SQLiteClaims
from bot.models import Answer, Conversation, Turn
from knowledge.database import Database

__all__ = ["ConversationStore", "SQLiteConversations", "RECENT_TURNS", "BOT_MIGRATIONS", "read_stored_answer"]

logger = logging.getLogger(__name__)


def read_stored_answer(answer_id: str, body: str) -> Answer | None:
    """A stored answer's JSON read back; one that no longer parses is logged and treated as gone,
    so a "Show sources" button on it says so instead of failing. Every backend reads answers here."""
    try:
        return Answer.model_validate_json(body)
    except ValueError:
        logger.exception("stored answer %s cannot be read back", answer_id)
        return None

# What a question reads from its thread: the query plan looks at the last two turns'
# queries and at papers cited recently, so a long thread costs no more than a short one.
RECENT_TURNS = 8

BOT_MIGRATIONS: list[str] = [
    # 1: conversations, answers, feedback, event dedupe. IF NOT EXISTS: stores written before
    # the bot owned its tables already hold them (created by the paper store), data and all.
    """
    CREATE TABLE IF NOT EXISTS turns (
        conversation_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        query TEXT NOT NULL,
        answer_id TEXT NOT NULL,
        cited_ids TEXT NOT NULL DEFAULT '[]',
        asked_at TEXT NOT NULL,
        PRIMARY KEY (conversation_id, position)
    );
    CREATE TABLE IF NOT EXISTS answers (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE INDEX IF NOT EXISTS answers_conversation ON answers(conversation_id);
    CREATE TABLE IF NOT EXISTS feedback (
        answer_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        value TEXT NOT NULL,
        platform TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        PRIMARY KEY (answer_id, user_id)
    );
    CREATE TABLE IF NOT EXISTS processed_events (
        key TEXT PRIMARY KEY,
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    """,
    # 2: the places a conversation continues at (opened before its first answer lands);
    # every conversation already stored continues where it was keyed.
    """
    CREATE TABLE conversation_places (
        place TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        opened_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    INSERT OR IGNORE INTO conversation_places (place, conversation_id)
        SELECT DISTINCT conversation_id, conversation_id FROM turns;
    """,
    # 3: claims that wait for their question's answer, and the heartbeats of the workers holding them
    SQLITE_CLAIM_MIGRATION,
]


class ConversationStore(ClaimLedger, Protocol):
    """The bot's memory; `Citewise` and the router take one, a test may pass its own."""

    def conversation(self, place: str) -> Conversation:
        """The conversation at `place`, with only its most recent turns."""

    def has_conversation(self, place: str) -> bool:
        """True once the conversation at `place` has a remembered turn."""

    def is_open(self, place: str) -> bool:
        """True once a conversation was opened at (or continued to) `place`."""

    def open(self, place: str) -> str:
        """The id of the conversation at `place`, opening one there if there is none."""

    def continue_at(self, conversation_id: str, place: str) -> None:
        """Follow-ups at `place` continue `conversation_id` from now on."""

    def record_turn(self, conversation_id: str, turn: Turn, answer: Answer, *, claim: str | None = None) -> None:
        """Store the answer and append the turn; the held `claim` (if any) names the answer from now on."""

    def answer(self, answer_id: str) -> Answer | None: ...

    def record_feedback(self, answer_id: str, user_id: str, value: str, platform: str = "") -> None: ...

    def feedback(self, answer_id: str) -> dict[str, str]: ...

    def recent_conversations(self, prefix: str, limit: int) -> list[tuple[str, str, int, str]]:
        """(id, first question, turns, last asked_at) of the latest conversations whose id starts with `prefix`."""

    def stats(self) -> dict[str, object]: ...


class SQLiteConversations(SQLiteClaims):
    """`ConversationStore` in the store's SQLite file, migrating its own tables on open."""

    def __init__(self, db: Database, *, recent_turns: int = RECENT_TURNS, claim_timeout: float = CLAIM_TIMEOUT,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._recent = recent_turns
        self._migrate()
        self._init_claims(claim_timeout=claim_timeout, clock=clock)

    def _migrate(self) -> None:
        with self._db.write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bot_schema (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM bot_schema").fetchone()
            current = 0 if row is None else int(row[0])
            if current > len(BOT_MIGRATIONS):
                logger.warning("bot tables are at schema %d, newer than this Citewise (%d)", current,
                               len(BOT_MIGRATIONS))
                return
            for version in range(current, len(BOT_MIGRATIONS)):
                logger.info("migrating the bot's tables in %s to schema %d", self._db.path, version + 1)
                for statement in BOT_MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute("DELETE FROM bot_schema")
            conn.execute("INSERT INTO bot_schema (version) VALUES (?)", (max(current, len(BOT_MIGRATIONS)),))

    # ── conversations ─────────────────────────────────────────────────────
    def _resolve(self, place: str) -> str:
        row = self._db.connect().execute(
            "SELECT conversation_id FROM conversation_places WHERE place = ?", (place,)
        ).fetchone()
        return place if row is None else str(row[0])

    def conversation(self, place: str) -> Conversation:
        conversation_id = self._resolve(place)
        rows = self._db.connect().execute(
            "SELECT question, query, answer_id, cited_ids, asked_at FROM turns WHERE conversation_id = ?"
            " ORDER BY position DESC LIMIT ?",
            (conversation_id, self._recent),
        ).fetchall()
        turns = [
            Turn(
                question=r["question"],
                query=r["query"],
                answer_id=r["answer_id"],
                cited_ids=json.loads(r["cited_ids"]),
                asked_at=r["asked_at"],
            )
            for r in reversed(rows)
        ]
        return Conversation(id=conversation_id, turns=turns)

    def has_conversation(self, place: str) -> bool:
        row = self._db.connect().execute(
            "SELECT 1 FROM turns WHERE conversation_id = ? LIMIT 1", (self._resolve(place),)
        ).fetchone()
        return row is not None

    def is_open(self, place: str) -> bool:
        row = self._db.connect().execute("SELECT 1 FROM conversation_places WHERE place = ?", (place,)).fetchone()
        return row is not None

    def open(self, place: str) -> str:
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO conversation_places (place, conversation_id) VALUES (?, ?)", (place, place)
            )
            row = conn.execute("SELECT conversation_id FROM conversation_places WHERE place = ?", (place,)).fetchone()
        return str(row[0])

    def continue_at(self, conversation_id: str, place: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO conversation_places (place, conversation_id) VALUES (?, ?)"
                " ON CONFLICT(place) DO UPDATE SET conversation_id = excluded.conversation_id",
                (place, conversation_id),
            )

    def record_turn(self, conversation_id: str, turn: Turn, answer: Answer, *, claim: str | None = None) -> None:
        """Store the answer and append the turn (and name the answer on its held claim), in one transaction."""
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
            conn.execute(
                "INSERT OR IGNORE INTO conversation_places (place, conversation_id) VALUES (?, ?)",
                (conversation_id, conversation_id),
            )
            self._mark_answered(conn, claim, answer.id)

    # ── answers ───────────────────────────────────────────────────────────
    def answer(self, answer_id: str) -> Answer | None:
        row = self._db.connect().execute("SELECT body FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return None if row is None else read_stored_answer(answer_id, row["body"])

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

    # ── listing ───────────────────────────────────────────────────────────
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

    def stats(self) -> dict[str, object]:
        conn = self._db.connect()
        return {
            "conversations": conn.execute("SELECT COUNT(DISTINCT conversation_id) FROM turns").fetchone()[0],
            "answers": conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0],
        }
