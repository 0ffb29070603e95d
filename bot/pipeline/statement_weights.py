"""Fitted weights of the statement model (`statements.FEATURES` order): mean, sd, weight.

Written by `python -m evaluation.fit` from 638 SciFact tuning claims (46,298 candidate
sentences); do not edit by hand."""

from __future__ import annotations

INTERCEPT = -5.5108
WEIGHTS: tuple[tuple[float, float, float], ...] = (
    (0.2069, 0.2421, 0.2297),  # relevance
    (0.6723, 0.2184, 0.3349),  # paper_score
    (0.0990, 0.4649, 0.3373),  # cue
    (0.1168, 0.1429, 0.2069),  # covers_sentence
    (0.2090, 0.1724, 0.1911),  # covers_with_title
    (0.4131, 0.1911, 0.1884),  # covers_paper
    (0.3476, 0.3637, 0.0601),  # best_in_paper
    (0.3410, 0.2761, 0.4647),  # paper_rank
    (3.4487, 0.4145, 0.1488),  # top_retrieval
    (0.5000, 0.3232, 0.2095),  # position
    (0.1102, 0.3132, -0.0554),  # is_last
    (0.4000, 0.1768, 0.1730),  # length
    (0.4365, 0.1498, 0.0616),  # question_length
    (0.0193, 0.0608, 0.0513),  # phrase_overlap
    (0.1550, 0.3619, 0.1744),  # addresses
    (2.7716, 1.5152, -0.0816),  # missing_concepts
)
