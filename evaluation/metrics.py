"""Ranking metrics with binary relevance, as used for SciFact retrieval.

Kept free of any Citewise types so they can be checked by hand on tiny rankings.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

__all__ = ["ndcg_at_k", "recall_at_k", "percentile"]


def ndcg_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalised discounted cumulative gain of the top k, every relevant item worth 1.

    The ideal ranking puts all relevant items first, so a perfect ranking scores 1.0
    and a ranking with no relevant item in its top k scores 0.0.
    """
    if k <= 0 or not relevant:
        return 0.0
    wanted = set(relevant)
    seen: set[str] = set()
    gain = 0.0
    for position, item in enumerate(ranking[:k], start=1):
        if item in wanted and item not in seen:
            gain += 1.0 / math.log2(position + 1)
        seen.add(item)
    ideal = sum(1.0 / math.log2(position + 1) for position in range(1, min(k, len(wanted)) + 1))
    return gain / ideal


def recall_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant items found in the top k."""
    if k <= 0 or not relevant:
        return 0.0
    wanted = set(relevant)
    return len(wanted & set(ranking[:k])) / len(wanted)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))
