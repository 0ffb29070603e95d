"""The bot's memory in PostgreSQL, shared by every worker: conversations, answers, feedback, claims.

The same promises as `SQLiteConversations`, kept across processes:

- a delivery is claimed in one statement (bot/postgres_claims.py), so of two workers handed
  the same Slack event (a retry, or the `app_mention`/`message` twin keyed by channel and
  ts) exactly one answers; a question held by a worker that stopped is finished by another;
- turns of one conversation are numbered under a per-conversation advisory lock, so two
  workers answering follow-ups in one thread never collide;
- every row belongs to the team of the request that wrote it (`knowledge.tenancy`), and
  every read is filtered by the team of the request reading it: a "Show sources" button
  carrying another team's answer id finds nothing, a vote on it is dropped.

Tables are migrated as component `bot` in `schema_versions` (knowledge/postgres/database.py).
"""

from __future__ import annotations

import json
import logging

from bot.claims import CLAIM_TIMEOUT
from bot.conversations import read_stored_answer
from bot.models import Answer, Conversation, Turn
from bot.postgres_claims import PG_CLAIM_MIGRATION, PostgresClaims
from knowledge.postgres.database import PostgresDatabase
from knowledge.tenancy import current_team

__all__ = ["BOT_PG_MIGRATIONS", "PostgresConversations"]

logger = logging.getLogger(__name__)

BOT_PG_MIGRATIONS: list[str] = [
    # 1: conversations, answers, feedback, claims — every row keyed by its team
    """
    CREATE TABLE turns (
        conversation_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        team TEXT NOT NULL DEFAULT '',
        question TEXT NOT NULL,
        query TEXT NOT NULL,
        answer_id TEXT NOT NULL,
        cited_ids TEXT NOT NULL DEFAULT '[]',
        asked_at TEXT NOT NULL,
        PRIMARY KEY (conversation_id, position)
    );
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        team TEXT NOT NULL DEFAULT '',
        conversation_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX answers_conversation ON answers (conversation_id);
    CREATE TABLE feedback (
        answer_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        team TEXT NOT NULL DEFAULT '',
        value TEXT NOT NULL,
        platform TEXT NOT NULL DEFAULT '',
        at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (answer_id, user_id)
    );
    CREATE TABLE processed_events (
        key TEXT PRIMARY KEY,
        claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        attempts INTEGER NOT NULL DEFAULT 1,
        conversation_id TEXT,
        done BOOLEAN NOT NULL DEFAULT false
    );
    CREATE INDEX processed_events_pending ON processed_events (conversation_id) WHERE NOT done;
    CREATE TABLE conversation_places (
        place TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        team TEXT NOT NULL DEFAULT '',
        opened_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
    # 2: claims held until their answer is shown (question, where to reply), workers' heartbeats
    PG_CLAIM_MIGRATION,
]


class PostgresConversations(PostgresClaims):
    """`ConversationStore` in PostgreSQL; safe to share between any number of worker processes."""

    def __init__(self, db: PostgresDatabase, *, recent_turns: int = 8, claim_timeout: float = CLAIM_TIMEOUT) -> None:
        self._db = db
        self._recent = recent_turns
        db.migrate("bot", BOT_PG_MIGRATIONS)
        self._init_claims(claim_timeout=claim_timeout)

    # ── conversations ─────────────────────────────────────────────────────
    def _resolve(self, place: str) -> str:
        with self._db.connection() as conn:
            row = conn.execute("SELECT conversation_id FROM conversation_places WHERE place = %s AND team = %s",
                               (place, current_team())).fetchone()
        return place if row is None else str(row["conversation_id"])

    def conversation(self, place: str) -> Conversation:
        conversation_id = self._resolve(place)
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT question, query, answer_id, cited_ids, asked_at FROM turns WHERE conversation_id = %s"
                " AND team = %s ORDER BY position DESC LIMIT %s", (conversation_id, current_team(), self._recent)
            ).fetchall()
        turns = [Turn(question=r["question"], query=r["query"], answer_id=r["answer_id"],
                      cited_ids=json.loads(r["cited_ids"]), asked_at=r["asked_at"]) for r in reversed(rows)]
        return Conversation(id=conversation_id, turns=turns)

    def has_conversation(self, place: str) -> bool:
        conversation_id = self._resolve(place)  # before borrowing: one connection per thread at a time
        with self._db.connection() as conn:
            row = conn.execute("SELECT 1 FROM turns WHERE conversation_id = %s AND team = %s LIMIT 1",
                               (conversation_id, current_team()))
            return row.fetchone() is not None

    def is_open(self, place: str) -> bool:
        with self._db.connection() as conn:
            row = conn.execute("SELECT 1 FROM conversation_places WHERE place = %s AND team = %s",
                               (place, current_team()))
            return row.fetchone() is not None

    def open(self, place: str) -> str:
        with self._db.connection() as conn:
            # A no-op update makes RETURNING hand back the row another worker may have just inserted.
            row = conn.execute(
                "INSERT INTO conversation_places (place, conversation_id, team) VALUES (%s, %s, %s)"
                " ON CONFLICT (place) DO UPDATE SET place = excluded.place RETURNING conversation_id, team",
                (place, place, current_team())).fetchone()
        if row is None or row["team"] != current_team():
            return f"{current_team()}/{place}"  # another team's place: a conversation of our own, never theirs
        return str(row["conversation_id"])

    def continue_at(self, conversation_id: str, place: str) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO conversation_places (place, conversation_id, team) VALUES (%s, %s, %s)"
                " ON CONFLICT (place) DO UPDATE SET conversation_id = excluded.conversation_id"
                " WHERE conversation_places.team = excluded.team",
                (place, conversation_id, current_team()))

    def record_turn(self, conversation_id: str, turn: Turn, answer: Answer, *, claim: str | None = None) -> None:
        """Store the answer, append the turn and name the answer on its held claim, in one transaction."""
        team = current_team()
        with self._db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (conversation_id,))
            conn.execute(
                "INSERT INTO answers (id, team, conversation_id, body) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET body = excluded.body, conversation_id = excluded.conversation_id"
                " WHERE answers.team = excluded.team",
                (answer.id, team, conversation_id, answer.model_dump_json()))
            conn.execute(
                "INSERT INTO turns (conversation_id, position, team, question, query, answer_id, cited_ids, asked_at)"
                " SELECT %s, COALESCE(MAX(position), -1) + 1, %s, %s, %s, %s, %s, %s FROM turns"
                " WHERE conversation_id = %s",
                (conversation_id, team, turn.question, turn.query, turn.answer_id, json.dumps(turn.cited_ids),
                 turn.asked_at.isoformat(), conversation_id))
            conn.execute("INSERT INTO conversation_places (place, conversation_id, team) VALUES (%s, %s, %s)"
                         " ON CONFLICT DO NOTHING", (conversation_id, conversation_id, team))
            self._mark_answered(conn, claim, answer.id)

    # ── answers and feedback ──────────────────────────────────────────────
    def answer(self, answer_id: str) -> Answer | None:
        with self._db.connection() as conn:
            row = conn.execute("SELECT body FROM answers WHERE id = %s AND team = %s",
                               (answer_id, current_team())).fetchone()
        return None if row is None else read_stored_answer(answer_id, row["body"])

    def record_feedback(self, answer_id: str, user_id: str, value: str, platform: str = "") -> None:
        """One vote per user per answer; a second click replaces the first. Only on the team's own answers."""
        team = current_team()
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO feedback (answer_id, user_id, team, value, platform)"
                " SELECT %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM answers WHERE id = %s AND team = %s)"
                " ON CONFLICT (answer_id, user_id) DO UPDATE SET value = excluded.value, at = now()",
                (answer_id, user_id, team, value, platform, answer_id, team))

    def feedback(self, answer_id: str) -> dict[str, str]:
        with self._db.connection() as conn:
            rows = conn.execute("SELECT user_id, value FROM feedback WHERE answer_id = %s AND team = %s",
                                (answer_id, current_team())).fetchall()
        return {r["user_id"]: r["value"] for r in rows}

    # ── listing ───────────────────────────────────────────────────────────
    def recent_conversations(self, prefix: str, limit: int) -> list[tuple[str, str, int, str]]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT conversation_id, COUNT(*) AS turns, MAX(asked_at) AS last,"
                " (SELECT question FROM turns AS first WHERE first.conversation_id = turns.conversation_id"
                "  ORDER BY position LIMIT 1) AS question"
                " FROM turns WHERE starts_with(conversation_id, %s) AND team = %s"
                " GROUP BY conversation_id ORDER BY last DESC LIMIT %s", (prefix, current_team(), limit)).fetchall()
        return [(r["conversation_id"], r["question"], int(r["turns"]), r["last"]) for r in rows]

    def stats(self) -> dict[str, object]:
        """The team's own conversations and answers (another team's are not its business)."""
        team = current_team()
        with self._db.connection() as conn:
            row = conn.execute("SELECT (SELECT COUNT(DISTINCT conversation_id) FROM turns WHERE team = %s)"
                               " AS conversations, (SELECT COUNT(*) FROM answers WHERE team = %s) AS answers",
                               (team, team)).fetchone() or {}
        return {"conversations": int(row.get("conversations", 0)), "answers": int(row.get("answers", 0))}
