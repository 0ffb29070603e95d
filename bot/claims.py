"""Delivery claims: each chat delivery is handled once, and a question is never lost with its worker.

A claim is a row keyed by what identifies a delivery (a Slack event id, a post's channel
and ts). The first claimant wins it; everyone else is told "already handled". A question's
claim is *held* until its answer is shown, together with the question and the adapter's
note of where to reply, so that if its worker stops (killed mid-answer, the machine lost)
a live worker can finish it: workers write a heartbeat, and a claim whose holder has been
silent for `claim_timeout` seconds is *abandoned* — a redelivery may take it over
(`claim_event`), and `bot.recovery.ClaimKeeper` resumes it without one (`take_abandoned`).
When the answer is recorded before the worker stopped, the claim names it, so the
survivor shows that answer rather than answering twice.

`ClaimLedger` is the seam; `SQLiteClaims` keeps it in the store's SQLite file (one
process, but a restart resumes what the last run left), `bot.postgres_claims` in
PostgreSQL across workers. The conversation stores build on these.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from collections.abc import Callable
from typing import Protocol

from bot.models import HeldClaim, Question
from knowledge.database import Database
from knowledge.tenancy import current_team

__all__ = ["CLAIM_KEEP", "CLAIM_MAX_AGE", "CLAIM_TIMEOUT", "HELD_COLUMNS", "SQLITE_CLAIM_MIGRATION", "ClaimLedger", "DeliveryClaims", "DeliveryLost", "SQLiteClaims",
           "log_takeovers", "new_worker_id", "to_held_claim"]

logger = logging.getLogger(__name__)

# Seconds a worker may go without a heartbeat before its unfinished questions are taken over.
CLAIM_TIMEOUT = 30.0
# A held question older than this (seconds) is not resumed any more: an answer an hour late is noise.
CLAIM_MAX_AGE = 3600.0
# Claims are forgotten after this many seconds; platforms stop retrying long before.
CLAIM_KEEP = 86400.0


def new_worker_id() -> str:
    """This process's name in heartbeats and claims: readable in logs, unique across restarts."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


class ClaimLedger(Protocol):
    """Claims on deliveries, shared by every worker of one store."""

    def claim_event(self, key: str, *, hold: bool = True) -> bool:
        """True for the first claimant of `key`, or when its holder stopped before finishing it.

        `hold=False` claims it finished at once (a replay key: seen is handled), in one write.
        """

    def claim_delivery(self, keys: list[str], *, held: str | None = None) -> bool:
        """All of `keys` (a delivery's event id and its post) claimed at once: True if won.

        `held` (one of `keys`) stays claimed until `finish_claims`; the others are claimed
        finished in the same statement. Losing any key means the delivery is another's (a
        retry, the twin of a post), and nothing changes: a claim is all of the delivery or none.
        """

    def finish_claims(self, keys: list[str]) -> None:
        """These deliveries are handled for good: never claimed again."""

    def hold_claim(self, key: str, question: Question, reply_to: str) -> HeldClaim | None:
        """`key` stays claimed until `question`'s answer is shown; a live worker resumes it if its holder stops.

        Returns the claim as held. When a redelivery took the claim over from a stopped worker,
        that worker's question, placeholder and recorded answer stay (a different question id
        than `question`'s tells the caller it is finishing another's work).
        """

    def note_reply(self, key: str, reply_ref: str) -> None:
        """The message showing the held question's progress (a resumed answer replaces it)."""

    def take_abandoned(self, platforms: list[str], limit: int = 4) -> list[HeldClaim]:
        """Held questions of these platforms whose holders stopped, now this worker's (oldest first)."""

    def release_claim(self, key: str) -> None:
        """Let go of a held question this worker failed to finish, for the next keeper round to try again."""

    def heartbeat(self) -> None:
        """This worker is alive: its claims are not to be taken."""

    def retire(self) -> None:
        """This worker stops: whatever it still holds may be taken over at once."""

    def prune_claims(self) -> int:
        """Forget claims older than CLAIM_KEEP and workers silent as long; how many rows went."""


# The columns `to_held_claim` reads, in its order.
HELD_COLUMNS = "key, team, platform, question, reply_to, reply_ref, answer_id, attempts"


def to_held_claim(key: str, team: str, platform: str, question: str, reply_to: str, reply_ref: str | None,
                  answer_id: str | None, attempts: int) -> HeldClaim | None:
    """A stored held claim read back; one whose question no longer parses is logged and skipped."""
    try:
        return HeldClaim(key=key, team=team, platform=platform, question=Question.model_validate_json(question),
                         reply_to=reply_to, reply_ref=reply_ref, answer_id=answer_id, attempts=attempts)
    except ValueError:
        logger.exception("held claim %s cannot be read back; it is dropped", key)
        return None


SQLITE_CLAIM_MIGRATION = """
    ALTER TABLE processed_events ADD COLUMN done INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE processed_events ADD COLUMN claimed_at REAL NOT NULL DEFAULT 0;
    ALTER TABLE processed_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE processed_events ADD COLUMN owner TEXT;
    ALTER TABLE processed_events ADD COLUMN team TEXT NOT NULL DEFAULT '';
    ALTER TABLE processed_events ADD COLUMN platform TEXT;
    ALTER TABLE processed_events ADD COLUMN question TEXT;
    ALTER TABLE processed_events ADD COLUMN reply_to TEXT;
    ALTER TABLE processed_events ADD COLUMN reply_ref TEXT;
    ALTER TABLE processed_events ADD COLUMN answer_id TEXT;
    CREATE INDEX processed_events_held ON processed_events (claimed_at) WHERE NOT done AND reply_to IS NOT NULL;
    CREATE TABLE bot_workers (id TEXT PRIMARY KEY, seen_at REAL NOT NULL);
    UPDATE processed_events SET claimed_at = COALESCE(CAST(strftime('%s', at) AS REAL), 0)
"""


class DeliveryLost(Exception):
    """Raised inside a claim's transaction when another holds part of the delivery: it rolls back."""


class DeliveryClaims:
    """What the SQLite and PostgreSQL ledgers share: claiming one key is claiming a delivery of one."""

    def claim_delivery(self, keys: list[str], *, held: str | None = None) -> bool:
        raise NotImplementedError

    def claim_event(self, key: str, *, hold: bool = True) -> bool:
        return self.claim_delivery([key], held=key if hold else None)


def log_takeovers(won: list[tuple[str, int]]) -> None:
    """One WARNING per key taken from a stopped worker (attempts > 1): an operator sees every takeover."""
    for key, attempts in won:
        if attempts > 1:
            logger.warning("claim %s was left by a stopped worker; taking it over (attempt %d)", key, attempts)


# A claim's holder is alive while its heartbeat is recent; no row (retired, never seen) is not alive.
_HOLDER_SILENT = "NOT EXISTS (SELECT 1 FROM bot_workers w WHERE w.id = processed_events.owner AND w.seen_at > ?)"


class SQLiteClaims(DeliveryClaims):
    """`ClaimLedger` in the store's SQLite file. Times are this machine's clock (one machine)."""

    _db: Database

    def _init_claims(self, *, claim_timeout: float, clock: Callable[[], float]) -> None:
        self.worker_id = new_worker_id()
        self._claim_timeout = claim_timeout
        self._clock = clock
        self.heartbeat()

    def _silent_since(self) -> float:
        return self._clock() - self._claim_timeout

    def claim_delivery(self, keys: list[str], *, held: str | None = None) -> bool:
        won: list[tuple[str, int]] = []
        try:
            with self._db.write() as conn:
                for key in keys:
                    row = conn.execute(
                        "INSERT INTO processed_events (key, done, claimed_at, owner, team) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT(key) DO UPDATE SET claimed_at = excluded.claimed_at, owner = excluded.owner,"
                        "   attempts = attempts + 1, done = excluded.done"
                        f" WHERE NOT done AND {_HOLDER_SILENT} RETURNING attempts",
                        (key, int(key != held), self._clock(), self.worker_id, current_team(),
                         self._silent_since())).fetchone()
                    if row is None:
                        raise DeliveryLost  # rolls back what this delivery won so far: all of it, or none
                    won.append((key, int(row[0])))
        except DeliveryLost:
            return False
        log_takeovers(won)
        return True

    def finish_claims(self, keys: list[str]) -> None:
        with self._db.write() as conn:
            conn.executemany("UPDATE processed_events SET done = 1 WHERE key = ?", [(k,) for k in keys])

    def hold_claim(self, key: str, question: Question, reply_to: str) -> HeldClaim | None:
        with self._db.write() as conn:
            row = conn.execute(
                "UPDATE processed_events SET question = COALESCE(question, ?), reply_to = COALESCE(reply_to, ?),"
                f" platform = COALESCE(platform, ?) WHERE key = ? RETURNING {HELD_COLUMNS}",
                (question.model_dump_json(), reply_to, question.platform, key)).fetchone()
        return None if row is None else to_held_claim(*row)

    def note_reply(self, key: str, reply_ref: str) -> None:
        with self._db.write() as conn:
            conn.execute("UPDATE processed_events SET reply_ref = ? WHERE key = ?", (reply_ref, key))

    def _mark_answered(self, conn: sqlite3.Connection, key: str | None, answer_id: str) -> None:
        """Inside `record_turn`'s transaction: the held question's answer exists from now on."""
        if key is not None:
            conn.execute("UPDATE processed_events SET answer_id = ? WHERE key = ?", (answer_id, key))

    def take_abandoned(self, platforms: list[str], limit: int = 4) -> list[HeldClaim]:
        if not platforms:
            return []
        now = self._clock()
        marks = ",".join("?" * len(platforms))
        with self._db.write() as conn:
            rows = conn.execute(
                "UPDATE processed_events SET owner = ?, claimed_at = ?, attempts = attempts + 1 WHERE key IN"
                " (SELECT key FROM processed_events WHERE NOT done AND reply_to IS NOT NULL"
                f"  AND platform IN ({marks}) AND claimed_at > ? AND {_HOLDER_SILENT} ORDER BY claimed_at LIMIT ?)"
                f" RETURNING {HELD_COLUMNS}",
                (self.worker_id, now, *platforms, now - CLAIM_MAX_AGE, self._silent_since(), limit)).fetchall()
        held = [to_held_claim(*row) for row in rows]
        return [claim for claim in held if claim is not None]

    def release_claim(self, key: str) -> None:
        with self._db.write() as conn:
            conn.execute("UPDATE processed_events SET owner = NULL WHERE key = ? AND NOT done", (key,))

    def heartbeat(self) -> None:
        with self._db.write() as conn:
            conn.execute("INSERT INTO bot_workers (id, seen_at) VALUES (?, ?)"
                         " ON CONFLICT(id) DO UPDATE SET seen_at = excluded.seen_at", (self.worker_id, self._clock()))

    def retire(self) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM bot_workers WHERE id = ?", (self.worker_id,))

    def prune_claims(self) -> int:
        cutoff = self._clock() - CLAIM_KEEP
        with self._db.write() as conn:
            gone = conn.execute("DELETE FROM processed_events WHERE claimed_at < ?", (cutoff,)).rowcount
            gone += conn.execute("DELETE FROM bot_workers WHERE seen_at < ?", (cutoff,)).rowcount
        return int(gone)

