"""`ClaimLedger` in PostgreSQL: claims and heartbeats shared by every worker (see bot/claims.py).

Every decision is one statement, so two workers never both win: a delivery's keys (its
event id and its post) are claimed together, a first claim or a takeover, in one
`INSERT … ON CONFLICT DO UPDATE … WHERE <holder silent> RETURNING`, and the
keeper's takeover is a compare-and-set on the claim's attempt count, so two keepers (or a
keeper and a redelivery) racing for one question leave it to exactly one of them.
Times are the database server's clock, the one clock every worker shares.
Keys are scoped by team: two workspaces' channel ids and timestamps may coincide.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.claims import (
    CLAIM_KEEP,
    CLAIM_MAX_AGE,
    HELD_COLUMNS,
    DeliveryClaims,
    DeliveryLost,
    log_takeovers,
    new_worker_id,
    to_held_claim,
)
from bot.models import HeldClaim, Question
from knowledge.postgres.database import Connection, PostgresDatabase
from knowledge.tenancy import current_team

__all__ = ["PG_CLAIM_MIGRATION", "PostgresClaims"]

logger = logging.getLogger(__name__)

PG_CLAIM_MIGRATION = """
    ALTER TABLE processed_events ADD COLUMN owner TEXT, ADD COLUMN team TEXT NOT NULL DEFAULT '',
        ADD COLUMN platform TEXT, ADD COLUMN question TEXT, ADD COLUMN reply_to TEXT, ADD COLUMN reply_ref TEXT,
        ADD COLUMN answer_id TEXT;
    DROP INDEX processed_events_pending;
    CREATE INDEX processed_events_held ON processed_events (claimed_at) WHERE NOT done AND reply_to IS NOT NULL;
    CREATE TABLE bot_workers (id TEXT PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL DEFAULT now())
"""

_HOLDER_SILENT = ("NOT EXISTS (SELECT 1 FROM bot_workers w WHERE w.id = processed_events.owner"
                  " AND w.seen_at > now() - make_interval(secs => %s))")


def _scoped(key: str) -> str:
    return f"{current_team()}|{key}"


# HELD_COLUMNS of the updated row, where a join would make them ambiguous (take_abandoned).
_HELD_OF_P = ", ".join(f"p.{column.strip()}" for column in HELD_COLUMNS.split(","))


class PostgresClaims(DeliveryClaims):
    """`ClaimLedger` over the shared database; one instance per worker process."""

    _db: PostgresDatabase

    def _init_claims(self, *, claim_timeout: float) -> None:
        self.worker_id = new_worker_id()
        self._claim_timeout = claim_timeout
        self.heartbeat()

    def claim_delivery(self, keys: list[str], *, held: str | None = None) -> bool:
        """Every key in one `INSERT … ON CONFLICT DO UPDATE … RETURNING`: won only if all come back."""
        try:
            rows = self._claim_all(keys, held)
        except DeliveryLost:
            return False
        log_takeovers([(r["key"], int(r["attempts"])) for r in rows])
        return True

    def _claim_all(self, keys: list[str], held: str | None) -> list[dict[str, Any]]:
        with self._db.transaction() as conn:
            rows = conn.execute(
                "INSERT INTO processed_events (key, owner, team, done)"
                " SELECT k, %s, %s, k IS DISTINCT FROM %s::text FROM unnest(%s::text[]) AS k ORDER BY k"
                " ON CONFLICT (key) DO UPDATE SET claimed_at = now(), owner = excluded.owner,"
                "   attempts = processed_events.attempts + 1, done = excluded.done"
                f" WHERE NOT processed_events.done AND {_HOLDER_SILENT} RETURNING key, attempts",
                (self.worker_id, current_team(), None if held is None else _scoped(held), [_scoped(k) for k in keys],
                 self._claim_timeout)).fetchall()
            if len(rows) < len(keys):
                raise DeliveryLost  # rolls back whatever this statement won: all of the delivery, or none
        return rows

    def finish_claims(self, keys: list[str]) -> None:
        if keys:
            with self._db.connection() as conn:
                conn.execute("UPDATE processed_events SET done = true WHERE key = ANY(%s)", ([_scoped(k) for k in keys],))

    def hold_claim(self, key: str, question: Question, reply_to: str) -> HeldClaim | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE processed_events SET question = COALESCE(question, %s), reply_to = COALESCE(reply_to, %s),"
                f" platform = COALESCE(platform, %s) WHERE key = %s RETURNING {HELD_COLUMNS}",
                (question.model_dump_json(), reply_to, question.platform, _scoped(key))).fetchone()
        return None if row is None else self._held(row)

    @staticmethod
    def _held(row: dict[str, Any]) -> HeldClaim | None:
        return to_held_claim(row["key"].removeprefix(f"{row['team']}|"), row["team"], row["platform"], row["question"],
                             row["reply_to"], row["reply_ref"], row["answer_id"], row["attempts"])

    def note_reply(self, key: str, reply_ref: str) -> None:
        with self._db.connection() as conn:
            conn.execute("UPDATE processed_events SET reply_ref = %s WHERE key = %s", (reply_ref, _scoped(key)))

    def _mark_answered(self, conn: Connection, key: str | None, answer_id: str) -> None:
        """Inside `record_turn`'s transaction: the held question's answer exists from now on."""
        if key is not None:
            conn.execute("UPDATE processed_events SET answer_id = %s WHERE key = %s", (answer_id, _scoped(key)))

    def take_abandoned(self, platforms: list[str], limit: int = 4) -> list[HeldClaim]:
        if not platforms:
            return []
        # Compare-and-set on `attempts` (every takeover bumps it): of two keepers that both saw a
        # claim abandoned, the second's update finds the count moved on and takes nothing.
        with self._db.connection() as conn:
            rows = conn.execute(
                "WITH seen AS (SELECT key, attempts FROM processed_events WHERE NOT done AND reply_to IS NOT NULL"
                "  AND platform = ANY(%s) AND claimed_at > now() - make_interval(secs => %s)"
                f"  AND {_HOLDER_SILENT} ORDER BY claimed_at LIMIT %s)"
                " UPDATE processed_events p SET owner = %s, claimed_at = now(), attempts = p.attempts + 1"
                " FROM seen WHERE p.key = seen.key AND p.attempts = seen.attempts AND NOT p.done"
                f" RETURNING {_HELD_OF_P}",
                (platforms, CLAIM_MAX_AGE, self._claim_timeout, limit, self.worker_id)).fetchall()
        held = [self._held(row) for row in rows]
        return [claim for claim in held if claim is not None]

    def release_claim(self, key: str) -> None:
        with self._db.connection() as conn:
            conn.execute("UPDATE processed_events SET owner = NULL WHERE key = %s AND NOT done", (_scoped(key),))

    def heartbeat(self) -> None:
        with self._db.connection() as conn:
            conn.execute("INSERT INTO bot_workers (id) VALUES (%s) ON CONFLICT (id) DO UPDATE SET seen_at = now()",
                         (self.worker_id,))

    def retire(self) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM bot_workers WHERE id = %s", (self.worker_id,))

    def prune_claims(self) -> int:
        keep = (CLAIM_KEEP,)
        with self._db.connection() as conn:
            gone = conn.execute("DELETE FROM processed_events WHERE claimed_at < now() - make_interval(secs => %s)",
                                keep).rowcount
            gone += conn.execute("DELETE FROM bot_workers WHERE seen_at < now() - make_interval(secs => %s)",
                                 keep).rowcount
        return int(gone)
