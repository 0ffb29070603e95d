"""Measuring Citewise: retrieval and answer quality on labelled claims (SciFact)."""

from __future__ import annotations

from evaluation.metrics import ndcg_at_k, percentile, recall_at_k
from evaluation.runner import DenseOptions, EvalReport, Summary, render_report, run_scifact
from evaluation.scifact import Claim, load_claims, select_split

__all__ = [
    "Claim",
    "load_claims",
    "select_split",
    "ndcg_at_k",
    "recall_at_k",
    "percentile",
    "DenseOptions",
    "EvalReport",
    "Summary",
    "run_scifact",
    "render_report",
]
