"""Citewise benchmarks: ingest, search, answers, start-up and memory, against a rank-bm25 baseline.

Every measurement runs in its own child process, so peak RSS belongs to that phase
alone and start-up really starts cold from Python. Repeats give medians.
Stores and data live under --root (default /tmp/cw-bench), never in the project.

    python3 bench/run.py all --sizes 10000 100000 1000000 --repeats 3
    python3 bench/run.py phase --phase search --size 100000      # one measurement, JSON out
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synth import queries, write_synthetic  # noqa: E402
from bot.compose import build_citewise  # noqa: E402
from evaluation.metrics import percentile  # noqa: E402

__all__ = ["main"]

PHASES = ("ingest", "search", "answer", "startup", "baseline")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _latencies(values: list[float]) -> dict[str, float]:
    return {"p50_ms": percentile(values, 50) * 1000, "p95_ms": percentile(values, 95) * 1000,
            "qps": len(values) / sum(values)}


def _store_dir(root: Path, size: int) -> Path:
    return root / f"store-{size}"


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


# ── phases (each runs in a fresh process) ────────────────────────────────


def phase_ingest(root: Path, size: int) -> dict[str, float]:
    from knowledge.ingest import ingest_file
    from knowledge.store import PaperStore

    data = write_synthetic(size, root / f"synth-{size}.jsonl")
    folder = _store_dir(root, size)
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    store = PaperStore(folder / "store.db")
    ingest_file(store, data, progress=False)
    store.close()
    seconds = time.perf_counter() - started
    # Large files are parsed in a child process (knowledge/ingest/prefetch.py): its memory counts too.
    reader_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "papers_per_s": size / seconds, "disk_mb": _disk_mb(folder), "peak_rss_mb": _peak_rss_mb(),
            "reader_peak_rss_mb": reader_rss}


def _open(root: Path, size: int):  # -> Citewise
    from bot.settings import Settings

    path = _store_dir(root, size) / "store.db"
    if not path.is_file():
        raise SystemExit(f"no store at {path}: run the ingest phase first")
    return build_citewise(Settings(db_path=path))


def phase_search(root: Path, size: int, limit: int | None = None) -> dict[str, float]:
    """Top-10 for each query: the engine alone (ids, as the baseline gives) and the store (papers)."""
    from knowledge.index import WeightedTerm
    from knowledge.text import content_words

    cw = _open(root, size)
    texts = queries(limit)
    for text in texts[:20]:  # warm the page cache and the searcher
        cw.rank_now(text, 10)
    engine: list[float] = []
    for text in texts:
        started = time.perf_counter()
        cw.store.index.search([WeightedTerm(w) for w in content_words(text)], 10)
        engine.append(time.perf_counter() - started)
    times: list[float] = []
    for text in texts:
        started = time.perf_counter()
        cw.rank_now(text, 10)
        times.append(time.perf_counter() - started)
    cw.close()
    index_only = {f"engine_{key}": value for key, value in _latencies(engine).items()}
    return {**_latencies(times), **index_only, "queries": len(times), "peak_rss_mb": _peak_rss_mb()}


def phase_answer(root: Path, size: int, limit: int | None = 300) -> dict[str, float]:
    from bot.models import Question

    cw = _open(root, size)
    texts = queries(limit)
    for n, text in enumerate(texts[:10]):
        cw.answer_now(Question(text=text, conversation_id=f"warm-{n}"))
    times: list[float] = []
    for n, text in enumerate(texts):
        started = time.perf_counter()
        cw.answer_now(Question(text=text, conversation_id=f"bench-{n}"))
        times.append(time.perf_counter() - started)
    cw.close()
    return {**_latencies(times), "questions": len(times), "peak_rss_mb": _peak_rss_mb()}


def phase_startup(root: Path, size: int) -> dict[str, float]:
    """Open an existing store and answer one search, from a process that has only imported."""
    import bot.core  # noqa: F401  (imports are not start-up of the store)

    started = time.perf_counter()
    cw = _open(root, size)
    opened = time.perf_counter()
    cw.rank_now(queries(1)[0], 10)
    first = time.perf_counter()
    cw.close()
    return {"open_s": opened - started, "first_query_s": first - opened, "total_s": first - started,
            "peak_rss_mb": _peak_rss_mb()}


def phase_baseline(root: Path, size: int, limit: int | None = 100) -> dict[str, float]:
    """Plain `rank_bm25.BM25Okapi` over the same title+abstract texts, same tokenizer."""
    import numpy as np
    from rank_bm25 import BM25Okapi

    from knowledge.text import content_terms, tokenize

    data = write_synthetic(size, root / f"synth-{size}.jsonl")
    started = time.perf_counter()
    ids: list[str] = []
    docs: list[list[str]] = []
    with data.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            ids.append(record["id"])
            docs.append(tokenize(" ".join([record["title"], *record["abstract"]])))
    bm25 = BM25Okapi(docs)
    built = time.perf_counter() - started
    times: list[float] = []
    for text in queries(limit):
        began = time.perf_counter()
        scores = bm25.get_scores(content_terms(text))
        top = np.argpartition(-scores, 10)[:10]
        [ids[i] for i in top[np.argsort(-scores[top])]]
        times.append(time.perf_counter() - began)
    return {**_latencies(times), "queries": len(times), "build_s": built, "peak_rss_mb": _peak_rss_mb()}


def run_phase(phase: str, root: Path, size: int, limit: int | None) -> dict[str, float]:
    if phase == "ingest":
        return phase_ingest(root, size)
    if phase == "search":
        return phase_search(root, size, limit)
    if phase == "answer":
        return phase_answer(root, size, limit or 300)
    if phase == "startup":
        return phase_startup(root, size)
    return phase_baseline(root, size, limit or 100)


# ── the driver ────────────────────────────────────────────────────────────


def _child(phase: str, root: Path, size: int, limit: int | None) -> dict[str, float]:
    command = [sys.executable, str(Path(__file__)), "phase", "--phase", phase, "--size", str(size), "--root", str(root)]
    if limit:
        command += ["--limit", str(limit)]
    started = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    return result


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def run_all(
    root: Path, sizes: list[int], repeats: int, baseline_max: int, out: Path, phases: tuple[str, ...] = PHASES
) -> dict:
    """Run the phases for every size; results merge into `out`, so a phase can be re-run alone."""
    results: dict = json.loads(out.read_text()) if out.is_file() else {}
    for size in sizes:
        entry = results.setdefault(str(size), {})
        plan = [("ingest", None), ("startup", None), ("search", None), ("answer", 300)]
        if size <= baseline_max:
            plan.append(("baseline", 100 if size > 10_000 else 300))
        for phase, limit in plan:
            if phase not in phases:
                continue
            runs = []
            for repeat in range(repeats):
                runs.append(_child(phase, root, size, limit))
                print(f"{size:>9} {phase:<9} run {repeat + 1}: {json.dumps(runs[-1])}", flush=True)
            entry[phase] = {"median": _median(runs), "runs": runs}
            out.write_text(json.dumps(results, indent=1))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("phase", help="one measurement in this process; prints one JSON line")
    p.add_argument("--phase", choices=PHASES, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--root", type=Path, default=Path("/tmp/cw-bench"))
    p.add_argument("--limit", type=int, help="how many queries")
    p = sub.add_parser("all", help="every phase for every size, each in a child process, repeated")
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--baseline-max", type=int, default=100_000, help="largest size to run rank-bm25 at")
    p.add_argument("--root", type=Path, default=Path("/tmp/cw-bench"))
    p.add_argument("--out", type=Path, default=Path("/tmp/cw-bench/results.json"))
    p.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES), help="only these phases")
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    if args.command == "phase":
        print(json.dumps(run_phase(args.phase, args.root, args.size, args.limit)))
    else:
        run_all(args.root, args.sizes, args.repeats, args.baseline_max, args.out, tuple(args.phases))


if __name__ == "__main__":
    main()
