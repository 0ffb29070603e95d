"""Deterministic synthetic paper collections for benchmarks, built from SciFact sentences.

Each synthetic abstract recombines 6–10 real SciFact sentences under a real title
with a seeded RNG, so term statistics look like biomedical abstracts, any size can
be produced without new data, and the same seed always gives the same bytes.
Files go under /tmp, never into the project.

    python3 bench/synth.py --size 100000 --out /tmp/cw-bench/synth-100000.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SCIFACT", "load_pool", "synthetic_records", "write_synthetic", "queries"]

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"


def load_pool(scifact: Path = SCIFACT) -> tuple[list[str], list[str]]:
    """All SciFact titles and sentences."""
    titles: list[str] = []
    sentences: list[str] = []
    with (scifact / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            titles.append(doc["title"])
            sentences.extend(s for s in doc["abstract"] if s.strip())
    return titles, sentences


def synthetic_records(size: int, *, seed: int = 1, scifact: Path = SCIFACT) -> Iterator[dict[str, object]]:
    titles, sentences = load_pool(scifact)
    rng = random.Random(seed)
    for n in range(size):
        title = rng.choice(titles)
        abstract = [rng.choice(sentences) for _ in range(rng.randint(6, 10))]
        yield {"id": f"syn{n}", "title": f"{title} ({n})", "abstract": abstract, "year": 1990 + n % 35}


def write_synthetic(size: int, out: Path, *, seed: int = 1) -> Path:
    """Write (once) the synthetic collection of this size; returns its path."""
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as handle:
        for record in synthetic_records(size, seed=seed):
            handle.write(json.dumps(record) + "\n")
    partial.rename(out)
    return out


def queries(limit: int | None = None, *, scifact: Path = SCIFACT) -> list[str]:
    """SciFact training claims, in file order: realistic biomedical questions."""
    with (scifact / "claims_train.jsonl").open(encoding="utf-8") as handle:
        claims = [json.loads(line)["claim"] for line in handle if line.strip()]
    return claims[:limit] if limit else claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(write_synthetic(args.size, args.out, seed=args.seed))


if __name__ == "__main__":
    main()
