"""The PostgreSQL connection pool and versioned migrations, shared by the paper and bot tables.

Every blocking call the bot makes runs in a worker thread (`asyncio.to_thread`), so a
synchronous psycopg pool serves them: each call borrows a connection for one statement or
one transaction and gives it back. Migrations are numbered per component (`knowledge`,
`bot`) in `schema_versions`, applied under an advisory lock, so workers starting together
migrate once and a worker older than the database refuses to run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from knowledge.database import StoreError
from knowledge.postgres.migrations import PAPER_MIGRATIONS

__all__ = ["PostgresDatabase", "redact"]

logger = logging.getLogger(__name__)

_MIGRATION_LOCK = 0x4D494752  # "MIGR"

Connection = psycopg.Connection[dict[str, Any]]


def redact(url: str) -> str:
    """The URL with its password hidden, for log lines and errors."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://…"
    return f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class PostgresDatabase:
    """A pool of autocommit connections to one database, its paper tables migrated on open."""

    def __init__(self, url: str, *, pool_size: int = 8, timeout: float = 30.0) -> None:
        self.url = url
        self.path = redact(url)  # what log lines and `stats` name the store by
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url, min_size=1, max_size=max(1, pool_size), timeout=timeout, open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except psycopg.Error as exc:  # the pool's own timeout error is a psycopg error too
            self._pool.close()
            raise StoreError(f"cannot reach the database at {self.path}: {exc}") from exc
        self.migrate("knowledge", PAPER_MIGRATIONS)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection in autocommit mode: each statement is its own transaction."""
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: all of it lands, or none of it does."""
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """What the ingester wraps a bulk load in; PostgreSQL needs no WAL tuning from a client."""
        yield

    def migrate(self, component: str, migrations: Sequence[str]) -> None:
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_versions WHERE component = %s", (component,)).fetchone()
            current = 0 if row is None else int(row["version"])
            if current > len(migrations):
                raise StoreError(f"{self.path} was written by a newer Citewise ({component} schema {current},"
                                 f" this one knows {len(migrations)})")
            for version in range(current, len(migrations)):
                logger.info("migrating %s tables in %s to schema %d", component, self.path, version + 1)
                conn.execute(migrations[version])
            conn.execute(
                "INSERT INTO schema_versions (component, version) VALUES (%s, %s)"
                " ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (component, len(migrations)),
            )

    def schema(self, component: str = "knowledge") -> int:
        with self.connection() as conn:
            row = conn.execute("SELECT version FROM schema_versions WHERE component = %s", (component,)).fetchone()
        return 0 if row is None else int(row["version"])

    @property
    def schema_version(self) -> int:
        return self.schema("knowledge")

    def close(self) -> None:
        self._pool.close()
