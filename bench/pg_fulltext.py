"""Why the per-worker tantivy index and not PostgreSQL's full-text ranking: SciFact nDCG@10.

The same query words (the question's content words) ranked three ways over the 5,183
SciFact abstracts: tantivy BM25 (what Citewise searches), PostgreSQL `ts_rank` and
`ts_rank_cd` over an `english` tsvector with a GIN index (OR of the words, since AND finds
almost nothing for a sentence-long claim). Claims: the tuning split (id % 5 != 0).

    python3 bench/pg_fulltext.py [--scifact ../shared/data/scifact]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.synth import SCIFACT  # noqa: E402
from evaluation.metrics import ndcg_at_k  # noqa: E402
from evaluation.scifact import load_claims, select_split  # noqa: E402
from fakes.postgres_server import PostgresServer, find_postgres_bin  # noqa: E402
from knowledge.index import WeightedTerm  # noqa: E402
from knowledge.papers import Paper  # noqa: E402
from knowledge.store import SQLitePaperStore  # noqa: E402
from knowledge.text import content_words  # noqa: E402


def _corpus(scifact: Path) -> list[dict]:
    with (scifact / "corpus.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scifact", type=Path, default=SCIFACT)
    args = parser.parse_args()
    corpus = _corpus(args.scifact)
    claims = [c for c in select_split(load_claims(args.scifact / "claims_train.jsonl"), "tuning") if c.cited_ids]
    root = Path(tempfile.mkdtemp(prefix="cw-fts-"))
    store = SQLitePaperStore(root / "scifact.db")
    store.add_papers(Paper.from_abstract(id=str(d["doc_id"]), title=d["title"], abstract=d["abstract"]) for d in corpus)
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries not found")
    scores: dict[str, list[float]] = {"tantivy BM25": [], "ts_rank": [], "ts_rank_cd": []}
    times: dict[str, list[float]] = {name: [] for name in scores}
    with PostgresServer(bin_dir) as server, psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE docs (id TEXT PRIMARY KEY, tsv TSVECTOR NOT NULL)")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO docs VALUES (%s, to_tsvector('english', %s))",
                               [(str(d["doc_id"]), d["title"] + " " + " ".join(d["abstract"])) for d in corpus])
        conn.execute("CREATE INDEX docs_tsv ON docs USING GIN (tsv)")
        conn.execute("ANALYZE docs")
        for claim in claims:
            words = content_words(claim.text)
            started = time.perf_counter()
            ranking = [pid for pid, _ in store.index.search([WeightedTerm(w) for w in words], 10)]
            times["tantivy BM25"].append(time.perf_counter() - started)
            scores["tantivy BM25"].append(ndcg_at_k(ranking, claim.cited_ids, 10))
            query = " or ".join(words)
            for rank in ("ts_rank", "ts_rank_cd"):
                started = time.perf_counter()
                rows = conn.execute(
                    f"SELECT id FROM docs, websearch_to_tsquery('english', %s) q WHERE tsv @@ q"
                    f" ORDER BY {rank}(tsv, q) DESC LIMIT 10", (query,)).fetchall()
                times[rank].append(time.perf_counter() - started)
                scores[rank].append(ndcg_at_k([r[0] for r in rows], claim.cited_ids, 10))
    store.close()
    print(f"SciFact tuning claims: {len(claims)}, abstracts: {len(corpus)}")
    print("| ranking | nDCG@10 | median ms/query |\n| --- | --- | --- |")
    for name in scores:
        print(f"| {name} | {statistics.mean(scores[name]):.3f} | {statistics.median(times[name]) * 1000:.2f} |")


if __name__ == "__main__":
    main()
