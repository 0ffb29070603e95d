"""Plot search and answer latency against store size from bench/run.py's results.

    python3 bench/plot.py --results /tmp/cw-bench/results.json --out bench/latency.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot"]


def _series(results: dict, phase: str, key: str) -> tuple[list[int], list[float]]:
    sizes = sorted(int(s) for s, entry in results.items() if key in entry.get(phase, {}).get("median", {}))
    return sizes, [results[str(s)][phase]["median"][key] for s in sizes]


def plot(results: dict, out: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    styles = [
        ("search", "engine_p50_ms", "Citewise engine top-10 p50 (tantivy)", "o-", "tab:blue"),
        ("search", "engine_p95_ms", "Citewise engine top-10 p95", "o--", "tab:blue"),
        ("search", "p95_ms", "store search p95 (with paper records)", "d:", "tab:purple"),
        ("answer", "p50_ms", "full Answer p50", "s-", "tab:green"),
        ("answer", "p95_ms", "full Answer p95", "s--", "tab:green"),
        ("baseline", "p50_ms", "rank-bm25 BM25Okapi p50", "^-", "tab:red"),
        ("baseline", "p95_ms", "rank-bm25 BM25Okapi p95", "^--", "tab:red"),
    ]
    for phase, key, label, style, colour in styles:
        sizes, values = _series(results, phase, key)
        if sizes:
            ax.plot(sizes, values, style, color=colour, label=label)
    ax.axhline(10, color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(100, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("papers in the store (synthetic SciFact recombinations)")
    ax.set_ylabel("latency per query (ms, log scale)")
    ax.set_title("Citewise latency vs store size (2 cores, one process)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("/tmp/cw-bench/results.json"))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("latency.png"))
    args = parser.parse_args()
    plot(json.loads(args.results.read_text()), args.out)
    print(args.out)


if __name__ == "__main__":
    main()
