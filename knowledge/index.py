"""Full-text paper search: a persistent Tantivy BM25 index beside the SQLite file.

SQLite is the source of truth; the index is derived from it and can always be
rebuilt. Every paper row carries a `version`; the index remembers (in the store's
meta table) the highest version it holds, so start-up only indexes what is new and
never re-indexes a million abstracts. Tantivy was chosen by measurement (see
BENCHMARKS.md): sub-millisecond top-10 at 100k papers, incremental commits, and
readers that keep searching an old snapshot while a writer commits a new one.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import tantivy

from knowledge.database import Database
from knowledge.text import STOP_WORDS, stem_words

__all__ = ["ChangeSource", "FedRow", "PaperIndex", "Retriever", "WeightedTerm", "build_query_text", "index_text"]

logger = logging.getLogger(__name__)

_WATERMARK = "index_version"
_LAYOUT_KEY = "index_layout"
# Bump when the schema or what goes into a field changes: the index is then rebuilt once.
_LAYOUT = "2"
_SYNC_BATCH = 20_000
# Tantivy tokenises on its own threads; two keep both cores busy while Python feeds them.
_WRITER_THREADS = 2
# In a large store, a query word found in more than this share of papers barely changes the
# ranking (its IDF is tiny) but makes the engine walk a posting list of that length; it is
# left out. Small stores keep every word: there the walk is cheap and every word may matter.
COMMON_WORD_SHARE = 0.2
COMMON_WORD_MIN_PAPERS = 100_000
_NON_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class WeightedTerm:
    """A query word and how much it counts (earlier conversation topics count less)."""

    word: str
    weight: float = 1.0


class FedRow(NamedTuple):
    """A paper row as one store write left it, for `PaperIndex.feed`."""

    id: str
    text: str  # index_text(title, sentences JSON)
    version: int
    new: bool  # inserted by that write (not an update of an older row)


def index_text(title: str, sentences_json: str) -> str:
    """What the index holds for a paper: its title and its stored sentences' JSON array, unparsed.

    The array's quotes and commas are not words to the tokenizer, and decoding a
    million arrays is a tenth of an ingest.
    """
    return title + " " + sentences_json


class Retriever(Protocol):
    """Anything that ranks paper ids for weighted query words."""

    def search(self, terms: list[WeightedTerm], k: int) -> list[tuple[str, float]]: ...


def _without_common_words(text: str, searcher: tantivy.Searcher, min_papers: int) -> str:
    """The query text minus words that most papers of a large store contain (see COMMON_WORD_SHARE)."""
    papers = searcher.num_docs
    if papers < min_papers:
        return text
    limit = COMMON_WORD_SHARE * papers
    parts = text.split()
    kept = [part for part in parts if searcher.doc_freq("text", stem_words([part.split("^")[0]])[0]) <= limit]
    return " ".join(kept) if kept else text


def build_query_text(terms: list[WeightedTerm]) -> str:
    """Tantivy query-language text for weighted words; only [a-z0-9] reaches the parser.

    "IL-6" becomes "il 6", as the index's tokenizer splits it, never "il6", which no
    paper contains.
    """
    weights: dict[str, float] = {}
    for term in terms:
        for word in _NON_WORD.split(term.word.lower()):
            if not word or word in STOP_WORDS or word in {"and", "or", "not"}:
                continue
            weights[word] = max(weights.get(word, 0.0), term.weight)
    return " ".join(w if abs(x - 1.0) < 1e-9 else f"{w}^{x:.3f}" for w, x in weights.items())


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    # Title and abstract as one field: on SciFact this beats per-field scores with a
    # title boost (nDCG@10 0.695 against 0.605 on the tuning claims, see BENCHMARKS.md).
    builder.add_text_field("text", tokenizer_name="en_stem", index_option="freq")
    return builder.build()


class ChangeSource(Protocol):
    """Where the index catches up from: the store's change sequence and a place for its watermark.

    `knowledge.database.Database` (SQLite) is one; a PostgreSQL store hands each worker's
    index a source whose watermark lives beside that worker's index, not in the shared database.
    """

    def latest_version(self) -> int: ...

    def papers_changed_since(self, version: int, columns: Sequence[str], *, batch: int) -> Iterator[Sequence[Any]]: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class PaperIndex:
    """BM25 over each paper's title and abstract taken as one text."""

    def __init__(self, db: ChangeSource | Database, path: Path, *, writer_heap: int = 128_000_000,
                 common_word_min_papers: int = COMMON_WORD_MIN_PAPERS) -> None:
        self._db = db
        self.path = path
        self._writer_heap = writer_heap
        # From how many papers on common words are left out of queries (a setting, so a test
        # can make a small store behave like a large one).
        self.common_word_min_papers = common_word_min_papers
        if db.get_meta(_LAYOUT_KEY) != _LAYOUT:
            # An index from an older layout cannot be read with this schema: start afresh.
            if path.exists():
                logger.warning("search index %s has an older layout; rebuilding it", path)
                shutil.rmtree(path)
            db.set_meta(_WATERMARK, "0")
            db.set_meta(_LAYOUT_KEY, _LAYOUT)
        path.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(_schema(), path=str(path), reuse=True)
        self._writer: tantivy.IndexWriter | None = None
        self._writer_lock = threading.Lock()
        self._reloaded_at = 0.0
        # (version fed up to, index was empty, papers fed) while uncommitted rows are with the writer
        self._pending: tuple[int, bool, int] | None = None

    # ── writing ────────────────────────────────────────────────────────────
    def _acquire_writer(self) -> tantivy.IndexWriter | None:
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=self._writer_heap, num_threads=_WRITER_THREADS)
            except ValueError:
                logger.info("index %s is being written by another process; it will index the new papers", self.path)
                return None
        return self._writer

    def _position(self) -> tuple[int, bool, int]:
        """(version indexed or fed up to, index held nothing when this run started, papers fed so far)."""
        if self._pending is not None:
            return self._pending
        committed = int(self._db.get_meta(_WATERMARK) or 0)
        return committed, committed == 0 and self._index.searcher().num_docs == 0, 0

    @staticmethod
    def _add(writer: tantivy.IndexWriter, paper_id: str, text: str, *, replace: bool) -> None:
        if replace:
            # Re-indexing a changed paper: drop the old copy first, so a crash between
            # commit and watermark, or a paper fed twice before a commit, never leaves duplicates.
            writer.delete_documents_by_term("id", paper_id)
        writer.add_document(tantivy.Document(id=paper_id, text=text))

    def feed(self, versions: range, rows: Sequence[FedRow]) -> None:
        """Hand the rows one store write just committed to the writer, without re-reading them.

        `versions` are all the versions that write assigned (a paper updated twice keeps
        only its last one, so `rows` may be fewer). They are taken from memory only when
        they continue exactly where the index is; otherwise (another writer came in
        between) everything new is read from SQLite as `sync` does. Nothing is committed
        here: the next committing `sync` publishes it and moves the watermark.
        """
        if not versions:
            return
        with self._writer_lock:
            cursor, fresh, done = self._position()
            if versions.start != cursor + 1:
                self._catch_up(commit=False)
                return
            writer = self._acquire_writer()
            if writer is None:
                return
            for row in rows:
                # A paper this write inserted cannot be in an index that started empty.
                self._add(writer, row.id, row.text, replace=not (fresh and row.new))
            self._pending = (versions[-1], fresh, done + len(rows))

    def sync(self, *, commit: bool = True) -> int:
        """Index every paper row newer than the index; returns how many were (re)indexed.

        `commit=False` hands the rows to Tantivy's indexing threads without making them
        visible, so a bulk ingest can parse its next batch while they work; the next
        committing call publishes everything fed so far. Until then nothing is
        recorded as indexed, so a crash only means indexing those rows again.
        """
        with self._writer_lock:
            return self._catch_up(commit=commit)

    def _catch_up(self, *, commit: bool) -> int:
        cursor, fresh, done = self._position()
        pending = self._pending is not None
        latest = self._db.latest_version()
        if latest <= cursor and not (commit and pending):
            return 0
        writer = self._acquire_writer()
        if writer is None:
            return 0
        # Rows fed earlier in this uncommitted run may come back updated: only a run's first
        # read of an index that started empty can skip the deletes.
        replace = not (fresh and done == 0)
        for rows in self._db.papers_changed_since(cursor, ("id", "title", "sentences"), batch=_SYNC_BATCH):
            for row in rows:
                self._add(writer, row["id"], index_text(row["title"], row["sentences"]), replace=replace)
            cursor = rows[-1]["version"]
            done += len(rows)
        if not commit:
            self._pending = (cursor, fresh, done)
            return 0
        self._pending = None
        writer.commit()
        self._db.set_meta(_WATERMARK, str(cursor))
        self._reload(force=True)
        logger.info("indexed %d papers (index now at version %d)", done, cursor)
        return done

    def rebuild(self) -> int:
        """Throw the index away and index every paper again (after corruption or a schema change)."""
        with self._writer_lock:
            writer = self._acquire_writer()
            if writer is None:
                raise RuntimeError("another process is writing the index; try again when it is done")
            writer.delete_all_documents()
            writer.commit()
            self._pending = None
            self._db.set_meta(_WATERMARK, "0")
        return self.sync()

    def close(self) -> None:
        with self._writer_lock:
            if self._writer is not None:
                self._writer.wait_merging_threads()
                self._writer = None

    # ── reading ────────────────────────────────────────────────────────────
    def _reload(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._reloaded_at > 0.5:
            self._index.reload()
            self._reloaded_at = now

    @property
    def size(self) -> int:
        self._reload()
        return int(self._index.searcher().num_docs)

    def term_shares(self, stems: list[str]) -> tuple[dict[str, float], int]:
        """Share of indexed papers that contain each (stemmed) term, and how many papers there are.

        How specific a question's word is ("statin" against "effect") depends on the store
        it is asked of; the index already counts it.
        """
        self._reload()
        searcher = self._index.searcher()
        papers = int(searcher.num_docs)
        if not papers:
            return {stem: 0.0 for stem in stems}, 0
        return {stem: searcher.doc_freq("text", stem) / papers for stem in stems}, papers

    def search(self, terms: list[WeightedTerm], k: int) -> list[tuple[str, float]]:
        text = build_query_text(terms)
        if not text or k <= 0:
            return []
        self._reload()
        searcher = self._index.searcher()
        text = _without_common_words(text, searcher, self.common_word_min_papers)
        query = self._index.parse_query(text, ["text"])
        result = searcher.search(query, k, count=False)  # counting every match would defeat top-k pruning
        hits: list[tuple[str, float]] = []
        for score, address in result.hits:
            doc = searcher.doc(address)
            hits.append((doc["id"][0], float(score)))
        return hits
