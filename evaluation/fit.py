"""Fit the statement model's weights on SciFact's tuning claims (never the held-out ones).

    python -m evaluation.fit --corpus ../shared/data/scifact/corpus.jsonl \\
        --claims ../shared/data/scifact/claims_train.jsonl --write

Every candidate sentence the pipeline scores for a claim is one example, labelled 1 when
it is a gold rationale sentence of a gold evidence paper. The features are computed by the
product's own code (`statements.statement_features`), so what is fitted is what runs.
A plain L2-regularised logistic regression (numpy, standardised features) is enough: the
signals are few and the point is their balance, not capacity.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from bot.compose import build_citewise
from bot.core import Citewise
from bot.models import Conversation
from bot.pipeline.evidence import score_sentences
from bot.pipeline.plan import plan_query
from bot.pipeline.statements import FEATURES, statement_features
from bot.settings import Settings
from evaluation.scifact import Claim, load_claims, select_split
from knowledge.ingest import ingest_file
from knowledge.store import PaperStore

__all__ = ["collect", "fit", "main"]

_WEIGHTS_FILE = Path(__file__).resolve().parents[1] / "bot" / "pipeline" / "statement_weights.py"


def collect(cw: Citewise, claims: list[Claim]) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and labels for every candidate sentence of every claim."""
    rows: list[list[float]] = []
    labels: list[float] = []
    for claim in claims:
        plan = plan_query(claim.text, Conversation(id="fit"), None)
        concepts = cw.concepts_of(plan, claim.text)
        candidates = cw.retriever.retrieve(plan, claim.text)
        if not candidates:
            continue
        scored = score_sentences(plan.main, [], 0.0, candidates)
        rows.extend(statement_features(plan.main, scored, candidates, concepts, cw.store.term_shares))
        labels.extend(float(s.index in claim.rationale_sentences(s.paper.id)) for s in scored)
    return np.array(rows, dtype=float), np.array(labels, dtype=float)


def fit(x: np.ndarray, y: np.ndarray, *, l2: float = 0.001, steps: int = 4000, rate: float = 0.5
        ) -> tuple[float, list[tuple[float, float, float]]]:
    """Intercept and (mean, sd, weight) per feature, by gradient descent on the log loss."""
    mean = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd < 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / sd])
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        grad = z.T @ (p - y) / len(y)
        grad[1:] += l2 * w[1:]
        w -= rate * grad
    return float(w[0]), [(float(m), float(s), float(v)) for m, s, v in zip(mean, sd, w[1:])]


def _render(intercept: float, weights: list[tuple[float, float, float]], claims: int, examples: int) -> str:
    lines = [
        '"""Fitted weights of the statement model (`statements.FEATURES` order): mean, sd, weight.',
        "",
        f"Written by `python -m evaluation.fit` from {claims} SciFact tuning claims ({examples:,} candidate",
        'sentences); do not edit by hand."""',
        "",
        "from __future__ import annotations",
        "",
        f"INTERCEPT = {intercept:.4f}",
        "WEIGHTS: tuple[tuple[float, float, float], ...] = (",
    ]
    for name, (m, s, v) in zip(FEATURES, weights):
        lines.append(f"    ({m:.4f}, {s:.4f}, {v:.4f}),  # {name}")
    lines.append(")")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.fit", description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--claims", type=Path, required=True)
    parser.add_argument("--write", action="store_true", help=f"overwrite {_WEIGHTS_FILE.name}")
    args = parser.parse_args(argv)
    claims = select_split(load_claims(args.claims), "tuning")
    with tempfile.TemporaryDirectory(prefix="citewise-fit-") as scratch:
        store = PaperStore(Path(scratch) / "fit.db")
        cw = build_citewise(Settings(db_path=store.path), store=store)
        try:
            ingest_file(store, args.corpus, progress=False)
            x, y = collect(cw, claims)
        finally:
            cw.close()
    intercept, weights = fit(x, y)
    text = _render(intercept, weights, len(claims), len(y))
    if args.write:
        _WEIGHTS_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {_WEIGHTS_FILE}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
