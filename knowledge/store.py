"""PaperStore: the team's shared papers in one SQLite file plus its search index.

Papers are deduplicated on the way in (same id, same DOI, or same normalised
title) and merged rather than doubled; a merge that changes nothing writes
nothing, which is what makes re-ingesting a file a no-op. A record whose id names
a stored paper that is plainly another work (other title, other DOI) is refused
and reported as a conflict, never merged into it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.database import Database
from knowledge.fusion import FusionMethod, fuse
from knowledge.index import FedRow, PaperIndex, WeightedTerm, index_text
from knowledge.papers import Paper
from knowledge.text import tokenize

if TYPE_CHECKING:  # numpy comes with the dense index, only when one is attached
    from knowledge.dense import DenseIndex, Embedder

__all__ = ["SQLitePaperStore", "PaperStore", "AddReport", "Conflict", "encode", "hybrid_rank", "index_path_for"]

logger = logging.getLogger(__name__)

# How deep each ranking goes before fusion (the union of both top lists is fused).
DENSE_DEPTH = 100


def index_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".index")


@dataclass(frozen=True)
class Conflict:
    """A record refused because its id (or alias) already names a different stored paper."""

    id: str
    stored_id: str
    reason: str

    def __str__(self) -> str:
        return f"id {self.id!r} already names another paper ({self.reason}); refused, the stored paper is unchanged"


@dataclass
class AddReport:
    """What one batch of papers did to the store (conflicts were refused: nothing written for them)."""

    added: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    def extend(self, other: AddReport) -> None:
        self.added += other.added
        self.merged += other.merged
        self.unchanged += other.unchanged
        self.conflicts += other.conflicts

    @property
    def total(self) -> int:
        return len(self.added) + len(self.merged) + len(self.unchanged)


# json.dumps(..., ensure_ascii=False) builds a new encoder on every call; a bulk ingest makes millions.
_JSON = json.JSONEncoder(ensure_ascii=False)


def encode(paper: Paper) -> tuple:
    """A paper's column values as the store writes them (title … added_by), JSON lists encoded.

    A module function, not a method, so a bulk reader process can compute it ahead of the write.
    """
    return (
        paper.title,
        paper.title_key,
        _JSON.encode(paper.authors),
        paper.year,
        paper.venue,
        paper.doi,
        paper.url,
        _JSON.encode(paper.sentences),
        paper.origin,
        paper.added_by,
    )


# Positions in `encode`'s tuple.
_TITLE_KEY, _SENTENCES = 1, 7


def _row_to_paper(row: sqlite3.Row) -> Paper:
    return Paper.model_construct(
        id=row["id"],
        title=row["title"],
        sentences=json.loads(row["sentences"]),
        authors=json.loads(row["authors"]),
        year=row["year"],
        venue=row["venue"],
        doi=row["doi"],
        url=row["url"],
        origin=row["origin"],
        added_by=row["added_by"],
        added_at=row["added_at"],
    )


def hybrid_rank(index: PaperIndex, dense: DenseIndex | None, fusion: tuple[FusionMethod, float],
                terms: list[WeightedTerm], k: int, *, text: str | None) -> list[tuple[str, float]]:
    """BM25 alone, or fused with the dense ranking when there is a dense index and the query's text.

    One function for every store (SQLite, each team's indexes on PostgreSQL), so the fusion
    a team gets does not depend on where its papers live.
    """
    if dense is None or not text or not text.strip() or k <= 0:
        return index.search(terms, k)
    from knowledge.dense import top_k

    depth = max(k, DENSE_DEPTH)
    lexical = index.search(terms, depth)
    scores, ids = dense.scores(text)
    if not ids:
        return lexical[:k]
    ranked = top_k(scores, ids, depth)
    method, weight = fusion
    cosine = dense.cosines(scores, [paper_id for paper_id, _ in lexical + ranked]) if method == "weighted" else {}
    return fuse(lexical, ranked, cosine, method=method, dense_weight=weight)[:k]


def _same_work(a: Paper, b: Paper) -> bool:
    """Same normalised title is a duplicate only for real titles whose abstracts agree.

    Generic titles ("Summary", "Editorial") are shared by unrelated papers, and two
    records with different abstracts under one title are two papers.
    """
    if len(a.title_key.split()) < 4:
        return False
    if not a.sentences or not b.sentences:
        return True
    ta, tb = set(tokenize(" ".join(a.sentences[:3]))), set(tokenize(" ".join(b.sentences[:3])))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= 0.5


def _conflict(stored: Paper, new: Paper) -> str | None:
    """Why `new`, matched to `stored` by id or alias, cannot be the same paper; None when it can be.

    The same DOI is the same paper. Otherwise another DOI, or a title sharing less than
    half its words with the stored one, means the id was reused for another work, and
    merging would graft the second paper's DOI or link onto the first.
    """
    if new.doi and stored.doi:
        if new.doi == stored.doi:
            return None
        return f"DOI {new.doi} here, {stored.doi} in the store"
    if new.title_key == stored.title_key:
        return None
    ta, tb = set(tokenize(stored.title, keep_stop_words=True)), set(tokenize(new.title, keep_stop_words=True))
    if ta and tb and len(ta & tb) / len(ta | tb) >= 0.5:
        return None  # the same title, corrected or re-punctuated
    return f"title {new.title[:80]!r} here, {stored.title[:80]!r} in the store"


def _merge(old: Paper, new: Paper) -> Paper:
    """Fill what the stored record lacks from the new one; never drop stored data."""
    data = old.model_dump()
    for name in ("year", "venue", "doi", "url"):
        if data.get(name) in (None, "") and getattr(new, name) not in (None, ""):
            data[name] = getattr(new, name)
    if not data["authors"] and new.authors:
        data["authors"] = new.authors
    if len(new.sentences) > len(old.sentences) and not old.sentences:
        data["sentences"] = new.sentences
    return Paper.model_construct(**data)


class SQLitePaperStore:
    """The shared paper store (a `knowledge.protocols.PaperStore`); safe to search from many threads while another adds papers."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.db = Database(self.path)
        self.index = PaperIndex(self.db, index_path_for(self.path))
        self.dense: DenseIndex | None = None
        self._fusion: tuple[FusionMethod, float] = ("weighted", 0.5)
        self.index.sync()  # catch up with papers added while we were away (cheap if none)
        self._check_index()

    def _check_index(self) -> None:
        """Rebuild a lost or damaged index from the store, the source of truth."""
        indexed, stored = self.index.size, self.count()
        if indexed == stored:
            return
        logger.warning("search index holds %d papers but the store %d; rebuilding it", indexed, stored)
        try:
            self.index.rebuild()
        except RuntimeError as exc:  # another process holds the writer and will finish the job
            logger.warning("%s", exc)

    def attach_dense(
        self, embedder: Embedder, *, method: FusionMethod = "weighted", dense_weight: float = 0.5, sync: bool = True
    ) -> DenseIndex:
        """Turn on hybrid search: dense similarities fused with BM25 (embeds what is new first)."""
        from knowledge.dense import DenseIndex, SQLiteVectors

        self.dense = DenseIndex(SQLiteVectors(self.db), embedder)
        self._fusion = (method, dense_weight)
        if sync:
            self.dense.sync()
        return self.dense

    def sync_dense(self) -> int:
        """Embed papers added since the last sync (no-op without a dense index)."""
        return self.dense.sync() if self.dense is not None else 0

    # ── adding ─────────────────────────────────────────────────────────────
    def add_papers(
        self,
        papers: Iterable[Paper],
        *,
        added_by: str | None = None,
        index: bool = True,
        commit_index: bool = True,
        encoded: Sequence[tuple] | None = None,
    ) -> AddReport:
        """Add or merge papers in one transaction, then bring the index up to date.

        The rows written go to the index from memory (no read-back). `commit_index=False`
        leaves them unpublished, for a bulk ingest that commits once at the end;
        `index=False` leaves indexing to a later `index.sync()`. `encoded` may hold each
        paper's `encode(paper)`, computed ahead (a bulk reader process does it while this
        one writes).
        """
        report = AddReport()
        batch = list(papers)
        rows = list(encoded) if encoded is not None else [encode(paper) for paper in batch]
        if len(rows) != len(batch):
            raise ValueError(f"{len(rows)} encoded rows for {len(batch)} papers")
        fed: dict[str, FedRow] = {}  # what the index must hold afterwards, by paper id
        with self.db.write() as conn:
            first = version = conn.execute("SELECT COALESCE(MAX(version), 0) FROM papers").fetchone()[0]
            fresh = self._surely_new(conn, batch, rows)
            pending: list[tuple] = []  # rows of surely-new papers, inserted together
            for position, paper in enumerate(batch):
                values = rows[position]
                if added_by and not paper.added_by:
                    paper = paper.model_copy(update={"added_by": added_by})
                    values = (*values[:-1], added_by)
                if position in fresh:
                    existing = None
                else:
                    self._insert_rows(conn, pending)  # a possible duplicate must see every earlier paper
                    pending = []
                    existing = self._find_duplicate(conn, paper)
                if existing is None:
                    version += 1
                    pending.append((*values, paper.id, version))
                    fed[paper.id] = FedRow(paper.id, index_text(values[0], values[_SENTENCES]), version, True)
                    report.added.append(paper.id)
                    continue
                reason = _conflict(existing, paper)
                if reason is not None:
                    report.conflicts.append(Conflict(paper.id, existing.id, reason))
                    continue
                if existing.id != paper.id:
                    conn.execute(
                        "INSERT OR IGNORE INTO paper_aliases (alias, paper_id) VALUES (?, ?)", (paper.id, existing.id)
                    )
                merged = _merge(existing, paper)
                if merged.model_dump() == existing.model_dump():
                    report.unchanged.append(existing.id)
                    continue
                version += 1
                values = encode(merged)
                self._update(conn, values, merged.id, version)
                earlier = fed.get(merged.id)
                fed[merged.id] = FedRow(
                    merged.id, index_text(values[0], values[_SENTENCES]), version, bool(earlier and earlier.new)
                )
                report.merged.append(existing.id)
            self._insert_rows(conn, pending)
        if index:
            self.index.feed(range(first + 1, version + 1), list(fed.values()))
            if commit_index:
                self.index.sync()
                self.sync_dense()
        return report

    @staticmethod
    def _surely_new(conn: sqlite3.Connection, batch: list[Paper], rows: list[tuple]) -> set[int]:
        """Positions of papers that share no id, DOI or title with the store or an earlier one in the batch.

        A few set lookups per batch instead of three or four queries per paper: this is
        what lets a bulk ingest run at thousands of papers a second. Anything that might
        be a duplicate still goes through `_find_duplicate`.
        """
        keys = [(p.id, p.doi, values[_TITLE_KEY]) for p, values in zip(batch, rows)]

        def existing(sql: str, values: set[str]) -> set[str]:
            found: set[str] = set()
            items = list(values)
            for start in range(0, len(items), 500):
                chunk = items[start : start + 500]
                found.update(row[0] for row in conn.execute(sql.format(",".join("?" * len(chunk))), chunk))
            return found

        ids = {k[0] for k in keys}
        taken_ids = existing("SELECT id FROM papers WHERE id IN ({})", ids)
        taken_ids |= existing("SELECT alias FROM paper_aliases WHERE alias IN ({})", ids)
        taken_dois = existing("SELECT doi FROM papers WHERE doi IN ({})", {k[1] for k in keys if k[1]})
        taken_titles = existing("SELECT title_key FROM papers WHERE title_key IN ({})", {k[2] for k in keys if k[2]})
        fresh: set[int] = set()
        for position, (pid, doi, title) in enumerate(keys):
            if pid not in taken_ids and (not doi or doi not in taken_dois) and (not title or title not in taken_titles):
                fresh.add(position)
            taken_ids.add(pid)
            if doi:
                taken_dois.add(doi)
            if title:
                taken_titles.add(title)
        return fresh

    def _find_duplicate(self, conn: sqlite3.Connection, paper: Paper) -> Paper | None:
        row = conn.execute("SELECT * FROM papers WHERE id = ?", (paper.id,)).fetchone()
        if row is None and paper.doi:
            row = conn.execute("SELECT * FROM papers WHERE doi = ?", (paper.doi,)).fetchone()
        if row is None:
            alias = conn.execute("SELECT paper_id FROM paper_aliases WHERE alias = ?", (paper.id,)).fetchone()
            if alias is not None:
                row = conn.execute("SELECT * FROM papers WHERE id = ?", (alias[0],)).fetchone()
        if row is None and paper.title_key:
            for candidate in conn.execute("SELECT * FROM papers WHERE title_key = ? LIMIT 5", (paper.title_key,)):
                if paper.doi and candidate["doi"] and candidate["doi"] != paper.doi:
                    continue  # same title, different DOIs: two papers (e.g. erratum, reprint)
                if _same_work(_row_to_paper(candidate), paper):
                    row = candidate
                    break
        return None if row is None else _row_to_paper(row)

    @staticmethod
    def _insert_rows(conn: sqlite3.Connection, rows: list[tuple]) -> None:
        """New papers' rows (`encode` + id + version), in one statement run for all of them."""
        if rows:
            conn.executemany(
                "INSERT INTO papers (title, title_key, authors, year, venue, doi, url, sentences, origin, added_by,"
                " id, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    @staticmethod
    def _update(conn: sqlite3.Connection, values: tuple, paper_id: str, version: int) -> None:
        conn.execute(
            "UPDATE papers SET title = ?, title_key = ?, authors = ?, year = ?, venue = ?, doi = ?, url = ?,"
            " sentences = ?, origin = ?, added_by = ?, version = ? WHERE id = ?",
            (*values, version, paper_id),
        )

    # ── files already ingested ─────────────────────────────────────────────
    def file_already_ingested(self, digest: str) -> bool:
        row = self.db.connect().execute("SELECT 1 FROM ingested_files WHERE digest = ?", (digest,)).fetchone()
        return row is not None

    def record_file(self, digest: str, path: str, papers: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO ingested_files (digest, path, papers) VALUES (?, ?, ?)", (digest, path, papers)
            )

    # ── reading ────────────────────────────────────────────────────────────
    def get(self, paper_id: str) -> Paper | None:
        """The paper with this id, or with this id merged into it as a duplicate."""
        conn = self.db.connect()
        row = conn.execute("SELECT * FROM papers WHERE id = ?", (paper_id,)).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT p.* FROM paper_aliases a JOIN papers p ON p.id = a.paper_id WHERE a.alias = ?", (paper_id,)
            ).fetchone()
        return None if row is None else _row_to_paper(row)

    def get_by_doi(self, doi: str) -> Paper | None:
        row = self.db.connect().execute("SELECT * FROM papers WHERE doi = ? LIMIT 1", (doi.lower(),)).fetchone()
        return None if row is None else _row_to_paper(row)

    def canonical_id(self, paper_id: str) -> str | None:
        paper = self.get(paper_id)
        return None if paper is None else paper.id

    def get_many(self, paper_ids: list[str]) -> dict[str, Paper]:
        if not paper_ids:
            return {}
        found: dict[str, Paper] = {}
        conn = self.db.connect()
        for start in range(0, len(paper_ids), 500):
            chunk = paper_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(f"SELECT * FROM papers WHERE id IN ({marks})", chunk):
                found[row["id"]] = _row_to_paper(row)
        return found

    def count(self) -> int:
        """How many papers the store holds, from the running tallies (no scan)."""
        row = self.db.connect().execute("SELECT COALESCE(SUM(papers), 0) FROM paper_tallies").fetchone()
        return int(row[0])

    def search(self, terms: list[WeightedTerm], k: int = 10, *, text: str | None = None) -> list[tuple[Paper, float]]:
        """The top-k papers for weighted query words, best first.

        With a dense index attached and the query's `text` given, BM25 and dense
        rankings are fused; otherwise this is BM25 alone.
        """
        hits = self.rank(terms, k, text=text)
        papers = self.get_many([paper_id for paper_id, _ in hits])
        return [(papers[pid], score) for pid, score in hits if pid in papers]

    def rank(self, terms: list[WeightedTerm], k: int, *, text: str | None = None) -> list[tuple[str, float]]:
        """Paper ids and scores, best first: BM25, or BM25 fused with dense when enabled."""
        return hybrid_rank(self.index, self.dense, self._fusion, terms, k, text=text)

    def term_shares(self, stems: list[str]) -> tuple[dict[str, float], int]:
        """Share of the store's papers containing each stemmed term, and the paper count."""
        return self.index.term_shares(stems)

    def stats(self) -> dict[str, object]:
        """What the store holds, read from the running tallies (`paper_tallies`), not by scanning papers."""
        conn = self.db.connect()
        tallies = conn.execute(
            "SELECT origin, added_by, papers, sentences, last_added_at FROM paper_tallies WHERE papers > 0"
        ).fetchall()
        by_origin: dict[str, int] = {}
        adders: dict[str | None, int] = {}
        for row in tallies:
            by_origin[row["origin"]] = by_origin.get(row["origin"], 0) + row["papers"]
            adders[row["added_by"]] = adders.get(row["added_by"], 0) + row["papers"]
        last = [row["last_added_at"] for row in tallies if row["last_added_at"] is not None]
        return {
            "path": str(self.path),
            "papers": sum(row["papers"] for row in tallies),
            "sentences": sum(row["sentences"] for row in tallies),
            "indexed": self.index.size,
            "by_origin": dict(sorted(by_origin.items())),
            # as GROUP BY added_by gave them: no adder first, then by name; "" and None both read "unknown"
            "by_adder": {(adder or "unknown"): n for adder, n in sorted(adders.items(), key=lambda a: (a[0] is not None, a[0] or ""))},
            "last_added_at": max(last, default=None),
            "files_ingested": conn.execute("SELECT COUNT(*) FROM ingested_files").fetchone()[0],
            "schema_version": self.db.schema_version,
        }

    def close(self) -> None:
        self.index.close()
        self.db.close()


# The name callers construct it by; annotate with `knowledge.protocols.PaperStore`.
PaperStore = SQLitePaperStore
