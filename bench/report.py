"""Markdown tables for BENCHMARKS.md from bench/run.py's results (medians of the repeats).

    python3 bench/report.py --results /tmp/cw-bench/results.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["tables"]


def _get(entry: dict, phase: str, key: str) -> float | None:
    return entry.get(phase, {}).get("median", {}).get(key)


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def tables(results: dict) -> str:
    sizes = sorted(results, key=int)
    lines = [
        "| papers | engine top-10 p50 (ms) | engine p95 (ms) | engine QPS | ids + scores (rank_now) p50 (ms) "
        "| rank_now p95 (ms) | rank_now QPS | rank-bm25 p50 (ms) | rank-bm25 p95 (ms) "
        "| rank-bm25 QPS | engine QPS ÷ rank-bm25 | answer p50 (ms) | answer p95 (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        e = results[size]
        qps, base = _get(e, "search", "engine_qps"), _get(e, "baseline", "qps")
        ratio = f"{qps / base:,.0f}×" if qps and base else "—"
        lines.append(
            f"| {int(size):,} | {_fmt(_get(e, 'search', 'engine_p50_ms'), '.2f')} "
            f"| {_fmt(_get(e, 'search', 'engine_p95_ms'), '.2f')} | {_fmt(qps, ',.0f')} "
            f"| {_fmt(_get(e, 'search', 'p50_ms'), '.2f')} | {_fmt(_get(e, 'search', 'p95_ms'), '.2f')} "
            f"| {_fmt(_get(e, 'search', 'qps'), ',.0f')} | {_fmt(_get(e, 'baseline', 'p50_ms'), ',.1f')} "
            f"| {_fmt(_get(e, 'baseline', 'p95_ms'), ',.1f')} | {_fmt(base, ',.1f')} | {ratio} "
            f"| {_fmt(_get(e, 'answer', 'p50_ms'), '.1f')} | {_fmt(_get(e, 'answer', 'p95_ms'), '.1f')} |"
        )
    lines += [
        "",
        "| papers | `search --batch -k 10 --json` ms/query (start-up subtracted) | QPS | ÷ rank-bm25 "
        "| `ask --batch --json` ms/question | ask line gap p50 / p95 (ms) | search_now p50 / p95 (ms, in process) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        e = results[size]
        qps, base = _get(e, "commands", "search_qps"), _get(e, "baseline", "qps")
        ratio = f"{qps / base:,.0f}×" if qps and base else "—"
        lines.append(
            f"| {int(size):,} | {_fmt(_get(e, 'commands', 'search_per_query_ms'), '.2f')} | {_fmt(qps, ',.0f')} "
            f"| {ratio} | {_fmt(_get(e, 'commands', 'ask_per_query_ms'), '.2f')} "
            f"| {_fmt(_get(e, 'commands', 'ask_line_p50_ms'), '.1f')} / {_fmt(_get(e, 'commands', 'ask_line_p95_ms'), '.1f')} "
            f"| {_fmt(_get(e, 'search', 'hits_p50_ms'), '.2f')} / {_fmt(_get(e, 'search', 'hits_p95_ms'), '.2f')} |"
        )
    lines += [
        "",
        "| papers | ingest papers/s | ingest peak RSS (MB) | store on disk (MB) | open store (s) | open + first query (s) "
        "| peak RSS serving search (MB) | peak RSS serving answers (MB) | rank-bm25 build (s) | rank-bm25 RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        e = results[size]
        lines.append(
            f"| {int(size):,} | {_fmt(_get(e, 'ingest', 'papers_per_s'), ',.0f')} "
            f"| {_fmt(_get(e, 'ingest', 'peak_rss_mb'), ',.0f')} | {_fmt(_get(e, 'ingest', 'disk_mb'), ',.0f')} "
            f"| {_fmt(_get(e, 'startup', 'open_s'), '.3f')} | {_fmt(_get(e, 'startup', 'total_s'), '.3f')} "
            f"| {_fmt(_get(e, 'search', 'peak_rss_mb'), ',.0f')} | {_fmt(_get(e, 'answer', 'peak_rss_mb'), ',.0f')} "
            f"| {_fmt(_get(e, 'baseline', 'build_s'), ',.1f')} | {_fmt(_get(e, 'baseline', 'peak_rss_mb'), ',.0f')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("/tmp/cw-bench/results.json"))
    args = parser.parse_args()
    print(tables(json.loads(args.results.read_text())))


if __name__ == "__main__":
    main()
