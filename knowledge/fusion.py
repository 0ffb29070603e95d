"""Fusing a lexical ranking (BM25) with dense similarities into one ranking.

Two ways, both over the union of the BM25 top-k and the dense top-k:

- `rrf`: reciprocal-rank fusion, sum of weight / (c + rank) over the two rankings;
  blind to score scales, the usual safe default.
- `weighted`: a convex mix of min-max normalised scores; every paper's cosine is
  known exactly (the dense search is brute force), while a paper outside the BM25
  top-k counts as the lowest BM25 score seen.

Pure functions over (paper id, score) lists, so they are tested without a model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

__all__ = ["FusionMethod", "FUSION_METHODS", "reciprocal_rank_fusion", "weighted_fusion", "fuse"]

logger = logging.getLogger(__name__)

FusionMethod = Literal["rrf", "weighted"]
FUSION_METHODS: tuple[str, ...] = ("rrf", "weighted")
RRF_C = 60.0


def reciprocal_rank_fusion(
    lexical: list[tuple[str, float]], dense: list[tuple[str, float]], *, dense_weight: float = 0.5, c: float = RRF_C
) -> list[tuple[str, float]]:
    """Sum of w / (c + rank) per ranking (1-based ranks); lexical counts 1 - dense_weight."""
    fused: dict[str, float] = {}
    for ranking, weight in ((lexical, 1.0 - dense_weight), (dense, dense_weight)):
        for rank, (paper_id, _) in enumerate(ranking, start=1):
            fused[paper_id] = fused.get(paper_id, 0.0) + weight / (c + rank)
    return _ordered(fused)


def _normalise(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    if span <= 0:
        return {key: 1.0 for key in scores}
    return {key: (value - low) / span for key, value in scores.items()}


def weighted_fusion(
    lexical: list[tuple[str, float]], dense_scores: Mapping[str, float], candidates: list[str], *, dense_weight: float = 0.5
) -> list[tuple[str, float]]:
    """(1 - w) · norm(BM25) + w · norm(cosine) for every candidate id.

    `dense_scores` must hold the cosine of every candidate; BM25 scores are
    normalised over the lexical list, so a candidate missing from it scores 0 there.
    """
    bm25 = _normalise(dict(lexical))
    cosine = _normalise({paper_id: dense_scores[paper_id] for paper_id in candidates if paper_id in dense_scores})
    fused = {
        paper_id: (1.0 - dense_weight) * bm25.get(paper_id, 0.0) + dense_weight * cosine.get(paper_id, 0.0)
        for paper_id in candidates
    }
    return _ordered(fused)


def fuse(
    lexical: list[tuple[str, float]],
    dense: list[tuple[str, float]],
    dense_scores: Mapping[str, float],
    *,
    method: FusionMethod = "rrf",
    dense_weight: float = 0.5,
) -> list[tuple[str, float]]:
    """One ranking over the union of `lexical` and `dense` (each best first)."""
    if method == "rrf":
        return reciprocal_rank_fusion(lexical, dense, dense_weight=dense_weight)
    if method == "weighted":
        candidates = list(dict.fromkeys([paper_id for paper_id, _ in lexical] + [paper_id for paper_id, _ in dense]))
        return weighted_fusion(lexical, dense_scores, candidates, dense_weight=dense_weight)
    raise ValueError(f"unknown fusion method {method!r}; choose one of {', '.join(FUSION_METHODS)}")


def _ordered(scores: dict[str, float]) -> list[tuple[str, float]]:
    # Ties keep first-seen order (lexical first), so the result is deterministic.
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)
