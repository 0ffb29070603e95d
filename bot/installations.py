"""Where a multi-workspace Slack app keeps each workspace's tokens and its OAuth states.

One row per installed workspace (or Enterprise Grid org), holding the platform's
installation record as JSON encrypted with Fernet (`CITEWISE_SECRET_KEY`): a database dump
or a replica leaks no bot token. OAuth `state` values are single-use: consuming one is one
`DELETE … RETURNING`, so of two workers handed the same redirect only one proceeds.
Nothing here knows Slack's classes; `adapters/slack/oauth.py` translates them.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from knowledge.postgres.database import PostgresDatabase

__all__ = ["INSTALLATION_MIGRATIONS", "InstallationVault", "new_secret_key"]

logger = logging.getLogger(__name__)

INSTALLATION_MIGRATIONS: list[str] = [
    # 1: installations (encrypted) and OAuth states
    """
    CREATE TABLE installations (
        platform TEXT NOT NULL,
        enterprise_id TEXT NOT NULL DEFAULT '',
        team_id TEXT NOT NULL DEFAULT '',
        sealed BYTEA NOT NULL,
        installed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (platform, enterprise_id, team_id)
    );
    CREATE TABLE oauth_states (
        state TEXT PRIMARY KEY,
        expires_at TIMESTAMPTZ NOT NULL
    )
    """,
]


def new_secret_key() -> str:
    """A fresh key for CITEWISE_SECRET_KEY (`python3 -c 'from bot.installations import new_secret_key as k; print(k())'`)."""
    return Fernet.generate_key().decode()


class InstallationVault:
    """Encrypted installation records and single-use OAuth states, in the shared PostgreSQL database."""

    def __init__(self, db: PostgresDatabase, key: SecretStr, *, platform: str = "slack") -> None:
        try:
            self._fernet = Fernet(key.get_secret_value().encode())
        except ValueError as exc:
            raise ValueError("CITEWISE_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes);"
                             " make one with bot.installations.new_secret_key()") from exc
        self._db = db
        self._platform = platform
        db.migrate("installations", INSTALLATION_MIGRATIONS)

    def save(self, enterprise_id: str | None, team_id: str | None, record: dict[str, Any]) -> None:
        sealed = self._fernet.encrypt(json.dumps(record).encode())
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO installations (platform, enterprise_id, team_id, sealed) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (platform, enterprise_id, team_id) DO UPDATE SET sealed = excluded.sealed,"
                " installed_at = now()", (self._platform, enterprise_id or "", team_id or "", sealed))
        logger.info("installation saved for %s team %s", self._platform, team_id or enterprise_id)

    def find(self, enterprise_id: str | None, team_id: str | None) -> dict[str, Any] | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT sealed FROM installations WHERE platform = %s AND enterprise_id = %s AND team_id = %s",
                (self._platform, enterprise_id or "", team_id or "")).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(self._fernet.decrypt(bytes(row["sealed"])))
        except (InvalidToken, ValueError):
            logger.warning("installation of %s team %s cannot be decrypted (another CITEWISE_SECRET_KEY?)",
                           self._platform, team_id or enterprise_id)
            return None
        return data if isinstance(data, dict) else None

    def delete(self, enterprise_id: str | None, team_id: str | None) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM installations WHERE platform = %s AND enterprise_id = %s AND team_id = %s",
                         (self._platform, enterprise_id or "", team_id or ""))
        logger.info("installation removed for %s team %s", self._platform, team_id or enterprise_id)

    def issue_state(self, lifetime: float) -> str:
        state = secrets.token_urlsafe(24)
        with self._db.connection() as conn:
            conn.execute("INSERT INTO oauth_states (state, expires_at) VALUES (%s, now() + make_interval(secs => %s))",
                         (state, lifetime))
        return state

    def consume_state(self, state: str) -> bool:
        """True once for a state issued here and not yet expired; False for any other."""
        with self._db.connection() as conn:
            row = conn.execute("DELETE FROM oauth_states WHERE state = %s RETURNING expires_at > now() AS fresh",
                               (state,)).fetchone()
        return bool(row and row["fresh"])
