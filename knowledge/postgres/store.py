"""`PaperStore` over PostgreSQL: papers shared by every worker, searched through each worker's own index.

The rules are the SQLite store's (knowledge/store.py): papers are deduplicated on the way
in (same id, DOI, or title of the same work), merged rather than doubled, and a record
whose id names another work is refused as a conflict. What differs is where things live:
rows in PostgreSQL, scoped by team; the BM25 index per worker and per team, catching up
from the change sequence (feed.py), so a paper added through any worker is found by every
worker at its next sync.

Which team's papers a call sees is the store's `team` when it was made for one
(`for_team`), otherwise the team of the request in hand (`knowledge.tenancy`): every query
filters by it, and each team has its own indexes (BM25, and dense when attached: vectors
stored per team in vectors.py), so no ranking, lookup or citation check can reach another
team's papers.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from knowledge.dense import DenseIndex, Embedder
from knowledge.fusion import FusionMethod
from knowledge.index import PaperIndex, WeightedTerm
from knowledge.papers import Paper
from knowledge.postgres.database import Connection, PostgresDatabase
from knowledge.postgres.feed import TeamFeed
from knowledge.postgres.migrations import PAPERS_LOCK
from knowledge.postgres.vectors import TeamVectors
from knowledge.store import (
    AddReport,
    Conflict,
    _conflict,
    _merge,
    _row_to_paper,
    _same_work,
    encode,
    hybrid_rank,
)
from knowledge.tenancy import DEFAULT_TEAM, current_team

__all__ = ["PostgresPaperStore"]

logger = logging.getLogger(__name__)

# How often (seconds) a search first asks the database for papers other workers added: the
# bound on how stale a worker's index can be while it is answering.
SYNC_INTERVAL = 0.5
_COLUMNS = "title, title_key, authors, year, venue, doi, url, sentences, origin, added_by"
_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TITLE_KEY = 1
_Built = TypeVar("_Built")


def _team_dir(team: str) -> str:
    if team == DEFAULT_TEAM:
        return "default"
    if _SAFE.match(team):
        return f"team-{team}"
    return "team-" + hashlib.sha256(team.encode()).hexdigest()[:32]


class _Indexes:
    """The per-team indexes of one worker (BM25, and dense once attached), made on first use and
    shared by every team view.

    `_lock` guards the dicts only. Building a team's index for the first time (a first sync
    can take seconds for a big team) holds that team's own lock, so no other team's search
    waits for it, and two threads asking for the same new team build it once.
    """

    def __init__(self, db: PostgresDatabase, root: Path) -> None:
        self._db = db
        self._root = root
        self._lock = threading.Lock()
        self._building: dict[tuple[str, str], threading.Lock] = {}
        self._by_team: dict[str, PaperIndex] = {}
        self._dense: dict[str, DenseIndex] = {}
        self.embedder: Embedder | None = None
        self.fusion: tuple[FusionMethod, float] = ("weighted", 0.5)

    def get(self, team: str) -> PaperIndex:
        return self._once(self._by_team, "bm25", team, lambda: self._build_index(team))

    def _build_index(self, team: str) -> PaperIndex:
        path = self._root / _team_dir(team)
        feed = TeamFeed(self._db, team, path.with_name(path.name + ".watermark.json"))
        index = PaperIndex(feed, path)
        index.sync()
        return index

    def attach(self, embedder: Embedder, fusion: tuple[FusionMethod, float]) -> None:
        """Dense retrieval on for every team of this worker (a new model starts from its own vectors)."""
        with self._lock:
            if self.embedder is not embedder:
                self._dense.clear()
            self.embedder, self.fusion = embedder, fusion

    def dense(self, team: str) -> DenseIndex | None:
        """The team's dense index, its stored vectors loaded on first use; None when dense is off."""
        embedder = self.embedder
        if embedder is None:
            return None
        return self._once(self._dense, "dense", team, lambda: DenseIndex(TeamVectors(self._db, team), embedder))

    def _once(self, made: dict[str, _Built], kind: str, team: str, build: Callable[[], _Built]) -> _Built:
        """`made[team]`, built by the first thread to ask while later ones for that team wait."""
        with self._lock:
            found = made.get(team)
            if found is not None:
                return found
            building = self._building.setdefault((kind, team), threading.Lock())
        with building:
            with self._lock:
                found = made.get(team)
            if found is None:
                found = build()
                with self._lock:
                    made[team] = found
                    self._building.pop((kind, team), None)
        return found

    def close(self) -> None:
        with self._lock:
            for index in self._by_team.values():
                index.close()
            self._by_team.clear()
            self._dense.clear()


class PostgresPaperStore:
    """The shared paper store in PostgreSQL (a `knowledge.protocols.PaperStore`), seen by one team."""

    def __init__(self, db: PostgresDatabase, index_root: Path, *, team: str | None = None,
                 owns_database: bool = True, _indexes: _Indexes | None = None) -> None:
        self.db = db
        self.path = db.path
        self._team = team
        self._indexes = _indexes or _Indexes(db, index_root)
        self._index_root = index_root
        self._owns_indexes = _indexes is None
        self._owns_db = owns_database and _indexes is None
        self._synced_at: dict[str, float] = {}

    @property
    def team(self) -> str:
        """The team this call works for: the one the store was made for, or the request's."""
        return self._team if self._team is not None else current_team()

    def for_team(self, team: str) -> PostgresPaperStore:
        """The same database and indexes, always seen by `team` whatever the request's team."""
        return PostgresPaperStore(self.db, self._index_root, team=team, _indexes=self._indexes)

    @property
    def index(self) -> PaperIndex:
        return self._indexes.get(self.team)

    @property
    def dense(self) -> DenseIndex | None:
        """This team's dense index (None unless `attach_dense` was called on this worker)."""
        return self._indexes.dense(self.team)

    def attach_dense(self, embedder: Embedder, *, method: FusionMethod = "weighted", dense_weight: float = 0.5,
                     sync: bool = True) -> DenseIndex:
        """Hybrid search for every team of this worker; returns the current team's dense index
        (embedding what is new for that team first, unless `sync=False`)."""
        self._indexes.attach(embedder, (method, dense_weight))
        dense = self._indexes.dense(self.team)
        assert dense is not None  # just attached
        if sync:
            dense.sync()
        return dense

    def sync_dense(self) -> int:
        """Embed the current team's papers added since the last sync (no-op without dense retrieval)."""
        dense = self.dense
        return dense.sync() if dense is not None else 0

    # ── adding ─────────────────────────────────────────────────────────────
    def add_papers(self, papers: Iterable[Paper], *, added_by: str | None = None, index: bool = True,
                   commit_index: bool = True, encoded: Sequence[tuple] | None = None) -> AddReport:
        """Add or merge papers in one transaction, numbered after every version already committed."""
        report = AddReport()
        batch = list(papers)
        rows = list(encoded) if encoded is not None else [encode(paper) for paper in batch]
        if len(rows) != len(batch):
            raise ValueError(f"{len(rows)} encoded rows for {len(batch)} papers")
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (PAPERS_LOCK,))
            version = int(conn.execute("SELECT COALESCE(MAX(version), 0) AS v FROM papers").fetchone()["v"])  # type: ignore[index]
            fresh = self._surely_new(conn, batch, rows)
            pending: list[tuple] = []
            for position, paper in enumerate(batch):
                values = rows[position]
                if added_by and not paper.added_by:
                    paper = paper.model_copy(update={"added_by": added_by})
                    values = (*values[:-1], added_by)
                existing = None
                if position not in fresh:
                    self._insert(conn, pending)
                    pending = []
                    existing = self._find_duplicate(conn, paper)
                if existing is None:
                    version += 1
                    pending.append((self.team, *values, paper.id, version))
                    report.added.append(paper.id)
                    continue
                reason = _conflict(existing, paper)
                if reason is not None:
                    report.conflicts.append(Conflict(paper.id, existing.id, reason))
                    continue
                if existing.id != paper.id:
                    conn.execute("INSERT INTO paper_aliases (team, alias, paper_id) VALUES (%s, %s, %s)"
                                 " ON CONFLICT DO NOTHING", (self.team, paper.id, existing.id))
                merged = _merge(existing, paper)
                if merged.model_dump() == existing.model_dump():
                    report.unchanged.append(existing.id)
                    continue
                version += 1
                conn.execute(
                    "UPDATE papers SET title = %s, title_key = %s, authors = %s, year = %s, venue = %s, doi = %s,"
                    " url = %s, sentences = %s, origin = %s, added_by = %s, version = %s WHERE team = %s AND id = %s",
                    (*encode(merged), version, self.team, merged.id),
                )
                report.merged.append(existing.id)
            self._insert(conn, pending)
        if index:
            self.index.sync(commit=commit_index)
            if commit_index:
                self.sync_dense()
        return report

    def _surely_new(self, conn: Connection, batch: list[Paper], rows: list[tuple]) -> set[int]:
        """Positions of papers sharing no id, DOI or title with the team's store or an earlier one (three queries)."""
        def taken(sql: str, values: set[str]) -> set[str]:
            if not values:
                return set()
            return {r["k"] for r in conn.execute(sql, (self.team, list(values))).fetchall()}

        ids = {p.id for p in batch}
        taken_ids = taken("SELECT id AS k FROM papers WHERE team = %s AND id = ANY(%s)", ids)
        taken_ids |= taken("SELECT alias AS k FROM paper_aliases WHERE team = %s AND alias = ANY(%s)", ids)
        taken_dois = taken("SELECT doi AS k FROM papers WHERE team = %s AND doi = ANY(%s)", {p.doi for p in batch if p.doi})
        taken_titles = taken("SELECT title_key AS k FROM papers WHERE team = %s AND title_key = ANY(%s)",
                             {r[_TITLE_KEY] for r in rows if r[_TITLE_KEY]})
        fresh: set[int] = set()
        for position, (paper, values) in enumerate(zip(batch, rows)):
            title = values[_TITLE_KEY]
            if paper.id not in taken_ids and paper.doi not in taken_dois and title not in taken_titles:
                fresh.add(position)
            taken_ids.add(paper.id)
            if paper.doi:
                taken_dois.add(paper.doi)
            if title:
                taken_titles.add(title)
        return fresh

    def _one(self, conn: Connection, where: str, *args: Any) -> dict[str, Any] | None:
        return conn.execute(f"SELECT * FROM papers WHERE team = %s AND {where} LIMIT 1",
                            (self.team, *args)).fetchone()

    def _find_duplicate(self, conn: Connection, paper: Paper) -> Paper | None:
        row = self._one(conn, "id = %s", paper.id)
        if row is None and paper.doi:
            row = self._one(conn, "doi = %s", paper.doi)
        if row is None:
            row = self._aliased(conn, paper.id)
        if row is None and paper.title_key:
            candidates = conn.execute("SELECT * FROM papers WHERE team = %s AND title_key = %s LIMIT 5",
                                      (self.team, paper.title_key)).fetchall()
            for candidate in candidates:
                if paper.doi and candidate["doi"] and candidate["doi"] != paper.doi:
                    continue  # same title, different DOIs: two papers
                if _same_work(_row_to_paper(candidate), paper):  # type: ignore[arg-type]
                    row = candidate
                    break
        return None if row is None else _row_to_paper(row)  # type: ignore[arg-type]

    def _aliased(self, conn: Connection, alias: str) -> dict[str, Any] | None:
        return conn.execute(
            "SELECT p.* FROM paper_aliases a JOIN papers p ON p.team = a.team AND p.id = a.paper_id"
            " WHERE a.team = %s AND a.alias = %s", (self.team, alias)).fetchone()

    @staticmethod
    def _insert(conn: Connection, rows: list[tuple]) -> None:
        if rows:
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO papers (team, {_COLUMNS}, id, version)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)

    # ── files already ingested ─────────────────────────────────────────────
    def file_already_ingested(self, digest: str) -> bool:
        with self.db.connection() as conn:
            return conn.execute("SELECT 1 FROM ingested_files WHERE team = %s AND digest = %s",
                                (self.team, digest)).fetchone() is not None

    def record_file(self, digest: str, path: str, papers: int) -> None:
        with self.db.connection() as conn:
            conn.execute(
                "INSERT INTO ingested_files (team, digest, path, papers) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (team, digest) DO UPDATE SET path = excluded.path, papers = excluded.papers,"
                " ingested_at = now()", (self.team, digest, path, papers))

    # ── reading ────────────────────────────────────────────────────────────
    def get(self, paper_id: str) -> Paper | None:
        with self.db.connection() as conn:
            row = self._one(conn, "id = %s", paper_id) or self._aliased(conn, paper_id)
        return None if row is None else _row_to_paper(row)  # type: ignore[arg-type]

    def get_by_doi(self, doi: str) -> Paper | None:
        with self.db.connection() as conn:
            row = self._one(conn, "doi = %s", doi.lower())
        return None if row is None else _row_to_paper(row)  # type: ignore[arg-type]

    def canonical_id(self, paper_id: str) -> str | None:
        paper = self.get(paper_id)
        return None if paper is None else paper.id

    def get_many(self, paper_ids: list[str]) -> dict[str, Paper]:
        """This team's papers among `paper_ids`: an id of another team's paper finds nothing."""
        if not paper_ids:
            return {}
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM papers WHERE team = %s AND id = ANY(%s)",
                                (self.team, list(paper_ids))).fetchall()
        return {row["id"]: _row_to_paper(row) for row in rows}  # type: ignore[arg-type]

    def count(self) -> int:
        with self.db.connection() as conn:
            row = conn.execute("SELECT COUNT(*) AS n FROM papers WHERE team = %s", (self.team,)).fetchone()
        return int(row["n"]) if row else 0

    def catch_up(self) -> int:
        """Index (and embed) what other workers added since the last look, at most every SYNC_INTERVAL
        seconds; returns how many papers the BM25 index took in."""
        team, now = self.team, time.monotonic()
        if now - self._synced_at.get(team, 0.0) < SYNC_INTERVAL:
            return 0
        self._synced_at[team] = now
        indexed = self._indexes.get(team).sync()
        dense = self._indexes.dense(team)
        if dense is not None:
            dense.sync()  # vectors other workers stored are read, not embedded again
        return indexed

    def search(self, terms: list[WeightedTerm], k: int = 10, *, text: str | None = None) -> list[tuple[Paper, float]]:
        hits = self.rank(terms, k, text=text)
        papers = self.get_many([paper_id for paper_id, _ in hits])
        return [(papers[pid], score) for pid, score in hits if pid in papers]

    def rank(self, terms: list[WeightedTerm], k: int, *, text: str | None = None) -> list[tuple[str, float]]:
        self.catch_up()
        return hybrid_rank(self.index, self.dense, self._indexes.fusion, terms, k, text=text)

    def term_shares(self, stems: list[str]) -> tuple[dict[str, float], int]:
        return self.index.term_shares(stems)

    def stats(self) -> dict[str, object]:
        team = (self.team,)
        with self.db.connection() as conn:
            origin = conn.execute("SELECT origin, COUNT(*) AS n FROM papers WHERE team = %s GROUP BY origin", team)
            by_origin = {r["origin"]: r["n"] for r in origin.fetchall()}
            adder = conn.execute("SELECT added_by, COUNT(*) AS n FROM papers WHERE team = %s GROUP BY added_by", team)
            by_adder = {r["added_by"] or "unknown": r["n"] for r in adder.fetchall()}
            totals = conn.execute(
                "SELECT COUNT(*) AS papers, COALESCE(SUM(json_array_length(sentences::json)), 0) AS sentences,"
                " MAX(added_at) AS last FROM papers WHERE team = %s", team).fetchone() or {}
            files = conn.execute("SELECT COUNT(*) AS n FROM ingested_files WHERE team = %s", team).fetchone() or {}
        return {
            "path": self.path,
            "papers": int(totals.get("papers", 0)),
            "sentences": int(totals.get("sentences", 0)),
            "indexed": self.index.size,
            "by_origin": by_origin,
            "by_adder": by_adder,
            "last_added_at": totals.get("last"),
            "files_ingested": int(files.get("n", 0)),
            "schema_version": self.db.schema_version,
        }

    def close(self) -> None:
        if self._owns_indexes:
            self._indexes.close()
        if self._owns_db:
            self.db.close()
