"""Fitted weights of the statement model (`statements.FEATURES` order): mean, sd, weight.

Written by `python -m evaluation.fit` from 638 SciFact tuning claims (46,299 candidate
sentences); do not edit by hand."""

from __future__ import annotations

INTERCEPT = -6.1912
WEIGHTS: tuple[tuple[float, float, float], ...] = (
    (0.2068, 0.2421, 0.3298),  # relevance
    (0.6723, 0.2184, 0.6653),  # paper_score
    (0.0990, 0.4649, 0.5130),  # cue
    (0.1168, 0.1429, 0.2211),  # covers_sentence
    (0.2090, 0.1724, 0.1699),  # covers_with_title
    (0.4131, 0.1911, 0.1309),  # covers_paper
    (0.3476, 0.3637, 0.0039),  # best_in_paper
    (0.3410, 0.2761, 0.5605),  # paper_rank
    (0.4479, 0.1458, 0.1081),  # top_retrieval
    (0.5000, 0.3232, 0.3274),  # position
    (0.1102, 0.3132, -0.1573),  # is_last
    (0.4000, 0.1768, 0.2553),  # length
    (0.4364, 0.1498, 0.1994),  # question_length
    (0.0193, 0.0608, 0.0288),  # phrase_overlap
    (0.1549, 0.3619, 0.1865),  # addresses
    (2.7716, 1.5151, -0.0922),  # missing_concepts
)
