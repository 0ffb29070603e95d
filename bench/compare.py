"""This checkout against another (a `git archive` of the commit before a change), side by side.

On a shared 2-core machine a figure measured an hour apart says little, so the two are
measured in one run, alternating, each in fresh processes; the medians and their ratio go to
one JSON file. Each checkout reads its own copy of the store (an older checkout cannot open
a store migrated by a newer one).

    git archive HEAD~3 | tar -x -C /tmp/cw-base
    python3 bench/compare.py --base /tmp/cw-base --db /tmp/cw-perf/store-100000/store.db \\
        --base-db /tmp/cw-perf/store-100000-base/store.db --repeats 3 --out /tmp/cw-perf/compare-100k.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import commands  # noqa: E402
from bench.synth import queries  # noqa: E402

__all__ = ["main"]


def _measure(root: Path, db: Path, texts: list[str], work: Path) -> dict[str, float]:
    commands.ROOT = root  # the checkout whose `python -m adapters.cli` runs
    search = commands.batch_command(db, "search", texts, work)
    ask = commands.batch_command(db, "ask", texts, work)
    first = commands.first_output(db, texts[0])
    return {**{f"search_{k}": v for k, v in search.items()}, **{f"ask_{k}": v for k, v in ask.items()}, **first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout (a directory)")
    parser.add_argument("--db", type=Path, required=True, help="the store this checkout reads")
    parser.add_argument("--base-db", type=Path, required=True, help="the base checkout's copy of the store")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    texts = queries(args.queries)
    runs: dict[str, list[dict[str, float]]] = {"new": [], "base": []}
    for repeat in range(args.repeats):
        for name, root, db in (("base", args.base, args.base_db), ("new", ROOT, args.db)):
            runs[name].append(_measure(root, db, texts, args.out.parent / f"compare-{name}"))
            print(f"run {repeat + 1} {name}: {json.dumps(runs[name][-1])}", flush=True)
    medians = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    ratio = {k: medians["base"][k] / v for k, v in medians["new"].items() if v}
    args.out.write_text(json.dumps({"medians": medians, "base_over_new": ratio, "runs": runs}, indent=1))
    print(json.dumps({"medians": medians, "base_over_new": ratio}, indent=1))


if __name__ == "__main__":
    main()
