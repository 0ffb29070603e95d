"""The SQLite file behind the paper store (the bot keeps its own tables in it too).

One file, WAL mode (readers never wait for the ingesting writer), schema versioned
with `PRAGMA user_version` and applied by numbered migrations. Each thread gets its
own connection because SQLite connections are not shared across threads.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Database", "MIGRATIONS", "StoreError"]

logger = logging.getLogger(__name__)


_PAGE = 4096  # SQLite's default page size, which the store uses
_CHECKPOINT_PAGES = 16_384  # 64 MB of WAL
_BULK_CHECKPOINT_PAGES = 65_536  # 256 MB, during a bulk ingest (see Database.bulk_writes)


def _checkpoint_every(conn: sqlite3.Connection, pages: int) -> None:
    """Let the WAL grow to `pages` pages before SQLite checkpoints it (and trim it to that size)."""
    conn.execute(f"PRAGMA wal_autocheckpoint={pages}")
    conn.execute(f"PRAGMA journal_size_limit={pages * _PAGE}")


class StoreError(Exception):
    """The store file cannot be opened or is not a Citewise store."""


# A paper counted into its (origin, adder) tally, the row made first if it is the first such paper.
_TALLY_ADD = """
        INSERT INTO paper_tallies (origin, added_by, papers, sentences, last_added_at)
            SELECT NEW.origin, NEW.added_by, 0, 0, NULL WHERE NOT EXISTS
                (SELECT 1 FROM paper_tallies WHERE origin = NEW.origin AND added_by IS NEW.added_by);
        UPDATE paper_tallies SET papers = papers + 1, sentences = sentences + json_array_length(NEW.sentences),
                last_added_at = MAX(COALESCE(last_added_at, NEW.added_at), NEW.added_at)
            WHERE origin = NEW.origin AND added_by IS NEW.added_by;
"""

MIGRATIONS: list[str] = [
    # 1: papers and file bookkeeping. (Stores written before the bot owned its tables also hold
    # turns, answers, feedback and processed_events here; bot/conversations.py migrates them.)
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE papers (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        title_key TEXT NOT NULL,
        authors TEXT NOT NULL DEFAULT '[]',
        year INTEGER,
        venue TEXT,
        doi TEXT,
        url TEXT,
        sentences TEXT NOT NULL DEFAULT '[]',
        origin TEXT NOT NULL DEFAULT 'file',
        added_by TEXT,
        added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        version INTEGER NOT NULL
    );
    CREATE INDEX papers_doi ON papers(doi) WHERE doi IS NOT NULL;
    CREATE INDEX papers_title_key ON papers(title_key);
    CREATE INDEX papers_version ON papers(version);
    CREATE TABLE paper_aliases (
        alias TEXT PRIMARY KEY,
        paper_id TEXT NOT NULL
    );
    CREATE TABLE ingested_files (
        digest TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        papers INTEGER NOT NULL,
        ingested_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    """,
    # 2: optional dense retrieval — one embedding per paper and model (knowledge/dense.py)
    """
    CREATE TABLE paper_vectors (
        model TEXT NOT NULL,
        seq INTEGER NOT NULL,
        version INTEGER NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, seq)
    );
    """,
    # 3: running tallies of the papers by origin and adder, kept by triggers, so `citewise stats`
    # and "Searching N papers…" read a handful of rows instead of scanning every paper
    # (1.3 s at 100k). Filled once here from what the store already holds. `added_at` is never
    # updated; a paper deleted or moved to another origin/adder (nothing does either today)
    # recomputes its old tally's latest date.
    f"""
    CREATE TABLE paper_tallies (
        origin TEXT NOT NULL,
        added_by TEXT,
        papers INTEGER NOT NULL,
        sentences INTEGER NOT NULL,
        last_added_at TEXT
    );
    INSERT INTO paper_tallies (origin, added_by, papers, sentences, last_added_at)
        SELECT origin, added_by, COUNT(*), COALESCE(SUM(json_array_length(sentences)), 0), MAX(added_at)
        FROM papers GROUP BY origin, added_by;
    CREATE TRIGGER paper_tallies_insert AFTER INSERT ON papers BEGIN
{_TALLY_ADD}    END;
    CREATE TRIGGER paper_tallies_delete AFTER DELETE ON papers BEGIN
        UPDATE paper_tallies SET papers = papers - 1, sentences = sentences - json_array_length(OLD.sentences),
                last_added_at = (SELECT MAX(added_at) FROM papers WHERE origin = OLD.origin AND added_by IS OLD.added_by)
            WHERE origin = OLD.origin AND added_by IS OLD.added_by;
    END;
    CREATE TRIGGER paper_tallies_moved AFTER UPDATE OF origin, added_by ON papers
        WHEN OLD.origin IS NOT NEW.origin OR OLD.added_by IS NOT NEW.added_by BEGIN
        UPDATE paper_tallies SET papers = papers - 1, sentences = sentences - json_array_length(OLD.sentences),
                last_added_at = (SELECT MAX(added_at) FROM papers WHERE origin = OLD.origin AND added_by IS OLD.added_by)
            WHERE origin = OLD.origin AND added_by IS OLD.added_by;
{_TALLY_ADD}    END;
    CREATE TRIGGER paper_tallies_sentences AFTER UPDATE OF sentences ON papers
        WHEN OLD.origin IS NEW.origin AND OLD.added_by IS NEW.added_by AND OLD.sentences IS NOT NEW.sentences BEGIN
        UPDATE paper_tallies
            SET sentences = sentences - json_array_length(OLD.sentences) + json_array_length(NEW.sentences)
            WHERE origin = NEW.origin AND added_by IS NEW.added_by;
    END;
    """,
]


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a migration, one at a time (a trigger's body holds semicolons too)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""
    if pending.strip(" \n;"):
        yield pending


class Database:
    """Opens (and if needed creates and migrates) one SQLite store file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    def connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA busy_timeout=30000")
                # A bulk ingest touches four B-trees per paper; the default 2 MB page
                # cache thrashes past ~100k papers.
                conn.execute("PRAGMA cache_size=-65536")
                conn.execute("PRAGMA temp_store=MEMORY")
                # Checkpoint the WAL every 64 MB rather than every 4 MB: bulk inserts
                # rewrite the same index pages, and fewer checkpoints copy them fewer times.
                _checkpoint_every(conn, _CHECKPOINT_PAGES)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path} is not a usable Citewise store: {exc}") from exc
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it lands, or none of it does."""
        conn = self.connect()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """While this thread writes in bulk, checkpoint the WAL every 256 MB instead of every 64 MB.

        Every commit of a bulk ingest touches pages all over the title-key index, and each
        checkpoint copies them again: on 300k synthetic papers the inserts and commits took
        about a fifth less time. Restored afterwards, so a serving store's WAL stays small.
        """
        conn = self.connect()
        _checkpoint_every(conn, _BULK_CHECKPOINT_PAGES)
        try:
            yield
        finally:
            _checkpoint_every(conn, _CHECKPOINT_PAGES)

    def papers_changed_since(self, version: int, columns: Sequence[str], *, batch: int) -> Iterator[list[sqlite3.Row]]:
        """Paper rows (`columns` plus `version`) newer than `version`, oldest first, `batch` at a time.

        What the search and vector indexes catch up from. Each batch is its own query,
        resuming after the last version handed out, so a caller may write between batches.
        """
        conn = self.connect()
        query = f"SELECT {', '.join(columns)}, version FROM papers WHERE version > ? ORDER BY version LIMIT ?"
        while rows := conn.execute(query, (version, batch)).fetchall():
            yield rows
            version = rows[-1]["version"]

    def latest_version(self) -> int:
        """The newest paper version written (0 for an empty store): how far an index must catch up."""
        return int(self.connect().execute("SELECT COALESCE(MAX(version), 0) FROM papers").fetchone()[0])

    @property
    def schema_version(self) -> int:
        return int(self.connect().execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        try:
            current = self.schema_version
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable Citewise store: {exc}") from exc
        if current > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} was written by a newer Citewise (schema {current}, this one knows {len(MIGRATIONS)})"
            )
        for version in range(current, len(MIGRATIONS)):
            logger.info("migrating store %s to schema %d", self.path, version + 1)
            with self.write() as tx:
                for statement in _statements(MIGRATIONS[version]):
                    tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {version + 1}")

    def get_meta(self, key: str) -> str | None:
        row = self.connect().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str, conn: sqlite3.Connection | None = None) -> None:
        target = conn or self.connect()
        target.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
