"""The paper tables in PostgreSQL, as numbered migrations (component `knowledge`).

Every row carries its `team` (a Slack team id, a Discord guild id; '' in single-team
mode), and every key is scoped by it, so one team's ids, DOIs and files never collide
with another's. `version` is the change sequence each worker's index catches up from:
writers take one advisory lock (`PAPERS_LOCK`) and number their rows after the last
committed version, so versions become visible in order and a reader never skips one.

Dense vectors (migration 2) are shared too: the first worker to embed a paper stores its
vector for that paper's version, and every other worker reads it instead of embedding again.
"""

from __future__ import annotations

__all__ = ["PAPERS_LOCK", "PAPER_MIGRATIONS"]

# pg_advisory_xact_lock key that serialises writers of the papers table.
PAPERS_LOCK = 0x43495445  # "CITE"

PAPER_MIGRATIONS: list[str] = [
    # 1: papers, aliases (ids merged into another paper), files ingested
    """
    CREATE TABLE papers (
        seq BIGSERIAL PRIMARY KEY,
        team TEXT NOT NULL DEFAULT '',
        id TEXT NOT NULL,
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
        added_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        version BIGINT NOT NULL,
        UNIQUE (team, id)
    );
    CREATE INDEX papers_doi ON papers (team, doi) WHERE doi IS NOT NULL;
    CREATE INDEX papers_title_key ON papers (team, title_key);
    CREATE UNIQUE INDEX papers_version ON papers (version);
    CREATE INDEX papers_team_version ON papers (team, version);
    CREATE TABLE paper_aliases (
        team TEXT NOT NULL DEFAULT '',
        alias TEXT NOT NULL,
        paper_id TEXT NOT NULL,
        PRIMARY KEY (team, alias)
    );
    CREATE TABLE ingested_files (
        team TEXT NOT NULL DEFAULT '',
        digest TEXT NOT NULL,
        path TEXT NOT NULL,
        papers INTEGER NOT NULL,
        ingested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (team, digest)
    )
    """,
    # 2: dense retrieval — one vector per team, model and paper (as of a paper version), and per
    # (team, model) the version up to which every paper has one (knowledge/postgres/vectors.py)
    """
    CREATE TABLE paper_vectors (
        team TEXT NOT NULL,
        model TEXT NOT NULL,
        seq BIGINT NOT NULL REFERENCES papers (seq) ON DELETE CASCADE,
        version BIGINT NOT NULL,
        vector BYTEA NOT NULL,
        PRIMARY KEY (team, model, seq)
    );
    CREATE TABLE vector_watermarks (
        team TEXT NOT NULL,
        model TEXT NOT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (team, model)
    )
    """,
]
