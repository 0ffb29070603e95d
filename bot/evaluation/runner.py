"""`citewise eval scifact`: ingest a corpus into a throwaway store, ask every claim, score.

Each claim is asked in a fresh conversation (as a new thread would be), ranked with
the same retrieval the answers use, and judged against its gold papers. The summary
is computed per split so tuning and held-out figures sit side by side.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.compose import build_citewise
from bot.core import Citewise
from bot.evaluation.judge import judge_answer
from bot.evaluation.metrics import ndcg_at_k, percentile, recall_at_k
from bot.evaluation.scifact import Claim, is_heldout, load_claims, select_split
from bot.models import AnswerStatus, Question, new_id
from bot.settings import Settings
from knowledge.dense import CachedEmbedder, Embedder, MiniLMEmbedder
from knowledge.ingest import ingest_file
from knowledge.store import PaperStore

__all__ = [
    "ClaimOutcome", "Summary", "EvalReport", "DenseOptions", "evaluate", "run_scifact", "summarise", "render_report",
]

logger = logging.getLogger(__name__)

RANK_DEPTH = 100


@dataclass(frozen=True)
class DenseOptions:
    """Hybrid retrieval for the eval; embeddings are cached by text in `cache` across runs."""

    fusion: str = "rrf"
    weight: float = 0.5
    cache: Path | None = None
    embedder: Embedder | None = None  # tests pass a fake; default all-MiniLM-L6-v2


@dataclass(frozen=True)
class ClaimOutcome:
    """Everything measured for one claim; the JSON report lists these for error analysis."""

    id: int
    split: str
    has_evidence: bool
    ndcg_at_10: float
    recall_at_10: float
    recall_at_100: float
    gold_ranks: dict[str, int | None]  # gold paper → 1-based rank in the top 100, None if absent
    status: str
    gold_cited: bool
    rationale_quoted: bool
    verified: bool
    words: int
    seconds: float


@dataclass(frozen=True)
class Summary:
    claims: int
    with_evidence: int
    ndcg_at_10: float
    recall_at_10: float
    recall_at_100: float
    gold_cited: float  # share of claims with evidence
    rationale_quoted: float  # share of claims with evidence
    verified: float  # share of answered claims
    no_evidence: float  # share of all claims
    mean_words: float  # over answered claims
    seconds_median: float
    seconds_p95: float


@dataclass(frozen=True)
class EvalReport:
    corpus: str
    claims_file: str
    split: str
    papers: int
    ingest_seconds: float
    summaries: dict[str, Summary]  # "all"/"tuning"/"heldout" → figures
    outcomes: list[ClaimOutcome]

    def to_dict(self, *, with_claims: bool = True) -> dict[str, object]:
        data: dict[str, object] = {
            "corpus": self.corpus,
            "claims_file": self.claims_file,
            "split": self.split,
            "papers": self.papers,
            "ingest_seconds": round(self.ingest_seconds, 3),
            "summaries": {name: asdict(s) for name, s in self.summaries.items()},
        }
        if with_claims:
            data["claims"] = [asdict(o) for o in self.outcomes]
        return data


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def summarise(outcomes: list[ClaimOutcome]) -> Summary:
    evidence = [o for o in outcomes if o.has_evidence]
    answered = [o for o in outcomes if o.status == AnswerStatus.answered.value]
    seconds = [o.seconds for o in outcomes]
    return Summary(
        claims=len(outcomes),
        with_evidence=len(evidence),
        ndcg_at_10=_mean([o.ndcg_at_10 for o in outcomes]),
        recall_at_10=_mean([o.recall_at_10 for o in outcomes]),
        recall_at_100=_mean([o.recall_at_100 for o in outcomes]),
        gold_cited=_share([o.gold_cited for o in evidence]),
        rationale_quoted=_share([o.rationale_quoted for o in evidence]),
        verified=_share([o.verified for o in answered]),
        no_evidence=_share([o.status == AnswerStatus.no_evidence.value for o in outcomes]),
        mean_words=_mean([float(o.words) for o in answered]),
        seconds_median=percentile(seconds, 50),
        seconds_p95=percentile(seconds, 95),
    )


def _outcome(cw: Citewise, claim: Claim) -> ClaimOutcome:
    # The answer first, so its time includes embedding the question when dense retrieval is on
    # (the ranking then reuses that vector); the ranking is the same in either order.
    started = time.perf_counter()
    answer = cw.answer_now(Question(text=claim.text, conversation_id=f"eval-{claim.id}-{new_id()}"))
    seconds = time.perf_counter() - started
    ranking = [paper_id for paper_id, _ in cw.rank_now(claim.text, RANK_DEPTH)]
    judged = judge_answer(claim, answer, cw.store.get_many)
    position = {paper_id: rank for rank, paper_id in enumerate(ranking, start=1)}
    return ClaimOutcome(
        id=claim.id,
        split="heldout" if is_heldout(claim.id) else "tuning",
        has_evidence=claim.has_evidence,
        ndcg_at_10=ndcg_at_k(ranking, claim.cited_ids, 10),
        recall_at_10=recall_at_k(ranking, claim.cited_ids, 10),
        recall_at_100=recall_at_k(ranking, claim.cited_ids, RANK_DEPTH),
        gold_ranks={paper_id: position.get(paper_id) for paper_id in claim.cited_ids},
        status=answer.status.value,
        gold_cited=judged.gold_cited,
        rationale_quoted=judged.rationale_quoted,
        verified=judged.verified,
        words=judged.words,
        seconds=seconds,
    )


def evaluate(cw: Citewise, claims: list[Claim], *, on_claim: Callable[[int], None] | None = None) -> list[ClaimOutcome]:
    """Ask every claim of an already-filled store; `on_claim` is told how many are done."""
    outcomes: list[ClaimOutcome] = []
    for done, claim in enumerate(claims, start=1):
        outcomes.append(_outcome(cw, claim))
        if on_claim is not None:
            on_claim(done)
    return outcomes


def _summaries(split: str, outcomes: list[ClaimOutcome]) -> dict[str, Summary]:
    summaries = {split: summarise(outcomes)}
    if split == "all":
        for part in ("tuning", "heldout"):
            summaries[part] = summarise([o for o in outcomes if o.split == part])
    return summaries


def run_scifact(
    corpus: str | Path,
    claims_path: str | Path,
    *,
    split: str = "all",
    on_claim: Callable[[int], None] | None = None,
    dense: DenseOptions | None = None,
) -> EvalReport:
    """The whole evaluation in a temporary store that is deleted afterwards."""
    claims = select_split(load_claims(claims_path), split)
    embedder: Embedder | None = None
    if dense is not None:
        embedder = dense.embedder or MiniLMEmbedder()
        if dense.cache is not None:
            embedder = CachedEmbedder(embedder, dense.cache)
    with tempfile.TemporaryDirectory(prefix="citewise-eval-") as scratch:
        store = PaperStore(Path(scratch) / "eval.db")
        settings = Settings(db_path=store.path)
        if dense is not None:
            settings = Settings(db_path=store.path, dense=True, dense_fusion=dense.fusion, dense_weight=dense.weight)
        cw = build_citewise(settings, store=store, embedder=embedder)
        try:
            started = time.perf_counter()
            ingest_file(store, corpus, progress=False)  # embeds too, when dense is on
            ingest_seconds = time.perf_counter() - started
            if isinstance(embedder, CachedEmbedder):
                embedder.save()
            papers = store.count()
            logger.info("eval store: %d papers ingested in %.1f s; asking %d claims", papers, ingest_seconds, len(claims))
            outcomes = evaluate(cw, claims, on_claim=on_claim)
        finally:
            cw.close()
    return EvalReport(
        corpus=str(corpus),
        claims_file=str(claims_path),
        split=split,
        papers=papers,
        ingest_seconds=ingest_seconds,
        summaries=_summaries(split, outcomes),
        outcomes=outcomes,
    )


_ROWS: list[tuple[str, str, str]] = [
    # (label, Summary field, format)
    ("claims", "claims", "{:.0f}"),
    ("claims with evidence", "with_evidence", "{:.0f}"),
    ("nDCG@10", "ndcg_at_10", "{:.3f}"),
    ("Recall@10", "recall_at_10", "{:.3f}"),
    ("Recall@100", "recall_at_100", "{:.3f}"),
    ("gold paper cited", "gold_cited", "{:.1%}"),
    ("gold rationale quoted", "rationale_quoted", "{:.1%}"),
    ("verification passed", "verified", "{:.1%}"),
    ("no_evidence answers", "no_evidence", "{:.1%}"),
    ("mean answer words", "mean_words", "{:.1f}"),
    ("time/question p50 (ms)", "seconds_median", "ms"),
    ("time/question p95 (ms)", "seconds_p95", "ms"),
]


def render_report(report: EvalReport) -> str:
    """A plain-text table, one column per split."""
    names = list(report.summaries)
    width = max(len(label) for label, _, _ in _ROWS) + 2
    lines = [
        f"SciFact: {report.papers:,} papers (ingested in {report.ingest_seconds:.1f} s), claims from {report.claims_file}",
        "".ljust(width) + "".join(name.rjust(10) for name in names),
    ]
    for label, name, fmt in _ROWS:
        cells = []
        for split in names:
            value = float(getattr(report.summaries[split], name))
            cells.append((f"{value * 1000:.1f}" if fmt == "ms" else fmt.format(value)).rjust(10))
        lines.append(label.ljust(width) + "".join(cells))
    return "\n".join(lines)
