"""One team's dense vectors in PostgreSQL: a `knowledge.dense.VectorStore` shared by every worker.

Each worker keeps its own matrix in memory (`knowledge.dense.DenseIndex`), but the vectors
and the watermark are in the database, so a paper is embedded once for all workers and the
work survives restarts. Workers may race to embed the same papers: a vector is upserted
(never older over newer) and the watermark only moves forward, so the loser's write is
harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from knowledge.dense import PaperToEmbed, StoredVector
from knowledge.postgres.database import PostgresDatabase

__all__ = ["TeamVectors"]

logger = logging.getLogger(__name__)


class TeamVectors:
    """The vectors of one team's papers (tables `paper_vectors`, `vector_watermarks`)."""

    def __init__(self, db: PostgresDatabase, team: str) -> None:
        self._db = db
        self._team = team

    def load(self, model: str) -> tuple[int, list[StoredVector]]:
        with self._db.connection() as conn:
            mark = conn.execute("SELECT version FROM vector_watermarks WHERE team = %s AND model = %s",
                                (self._team, model)).fetchone()
            rows = conn.execute(
                "SELECT v.seq, p.id, v.vector FROM paper_vectors v JOIN papers p ON p.seq = v.seq"
                " WHERE v.team = %s AND v.model = %s ORDER BY v.seq", (self._team, model)).fetchall()
        watermark = 0 if mark is None else int(mark["version"])
        return watermark, [StoredVector(int(r["seq"]), r["id"], bytes(r["vector"])) for r in rows]

    def changed_since(self, model: str, version: int, *, batch: int) -> Iterator[list[PaperToEmbed]]:
        query = (
            "SELECT p.seq, p.id, p.title, p.sentences, p.version, v.vector FROM papers p"
            " LEFT JOIN paper_vectors v ON v.team = p.team AND v.model = %s AND v.seq = p.seq"
            " AND v.version = p.version"
            " WHERE p.team = %s AND p.version > %s ORDER BY p.version LIMIT %s"
        )
        while True:
            with self._db.connection() as conn:
                rows = conn.execute(query, (model, self._team, version, batch)).fetchall()
            if not rows:
                return
            yield [PaperToEmbed(int(r["seq"]), r["id"], r["title"], r["sentences"], int(r["version"]),
                                None if r["vector"] is None else bytes(r["vector"])) for r in rows]
            version = int(rows[-1]["version"])

    def save(self, model: str, vectors: list[tuple[int, int, bytes]], watermark: int) -> None:
        with self._db.transaction() as conn:
            if vectors:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO paper_vectors (team, model, seq, version, vector) VALUES (%s, %s, %s, %s, %s)"
                        " ON CONFLICT (team, model, seq) DO UPDATE SET version = excluded.version,"
                        " vector = excluded.vector WHERE paper_vectors.version <= excluded.version",
                        [(self._team, model, *row) for row in vectors])
            conn.execute(
                "INSERT INTO vector_watermarks (team, model, version) VALUES (%s, %s, %s)"
                " ON CONFLICT (team, model) DO UPDATE SET version = GREATEST(vector_watermarks.version, excluded.version)",
                (self._team, model, watermark))

    def forget(self, model: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM paper_vectors WHERE team = %s AND model = %s", (self._team, model))
            conn.execute("DELETE FROM vector_watermarks WHERE team = %s AND model = %s", (self._team, model))
        logger.info("forgot team %r's %s vectors", self._team, model)
