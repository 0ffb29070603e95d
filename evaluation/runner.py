"""`citewise eval scifact`: ingest a corpus into a throwaway store, ask every claim, score.

Each claim is asked in a fresh conversation (as a new thread would be), ranked with
the same retrieval the answers use, and judged against its gold papers. The summary
is computed per split so tuning and held-out figures sit side by side.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from bot.compose import build_citewise
from bot.core import Citewise
from bot.models import Answer, AnswerStatus, Question, new_id
from bot.settings import Settings
from evaluation.honesty import Unanswerable, build_unanswerable
from evaluation.judge import judge_answer
from evaluation.metrics import ndcg_at_k, percentile, recall_at_k
from evaluation.scifact import Claim, is_heldout, load_claims, select_split
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

    fusion: Literal["rrf", "weighted"] = "rrf"
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
    statements: int = 0
    statements_correct: int = 0
    sentences_predicted: int = 0
    sentences_correct: int = 0
    sentences_gold: int = 0
    papers_predicted: int = 0
    papers_correct: int = 0
    papers_gold: int = 0
    labels_predicted: int = 0
    labels_correct: int = 0
    verdict: str = ""
    verdict_correct: bool | None = None


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
    # The direct answer, SciFact open-setting style
    statement_precision: float = 0.0
    mean_statements: float = 0.0  # over answered claims
    sentence_p: float = 0.0
    sentence_r: float = 0.0
    sentence_f1: float = 0.0
    abstract_p: float = 0.0
    abstract_r: float = 0.0
    abstract_f1: float = 0.0
    label_p: float = 0.0
    label_r: float = 0.0
    label_f1: float = 0.0
    verdict_accuracy: float = 0.0  # claims whose evidence agrees
    not_addressed_answerable: float = 0.0  # claims with evidence wrongly marked not_addressed
    honesty: float | None = None  # unanswerable questions marked not_addressed


@dataclass(frozen=True)
class HonestyOutcome:
    id: int
    split: str
    question: str
    verdict: str
    verdict_text: str


@dataclass(frozen=True)
class EvalReport:
    corpus: str
    claims_file: str
    split: str
    papers: int
    ingest_seconds: float
    summaries: dict[str, Summary]  # "all"/"tuning"/"heldout" → figures
    outcomes: list[ClaimOutcome]
    honesty: list[HonestyOutcome] = field(default_factory=list)
    # With --llm: ALCE-style citation figures over every sentence the model wrote (bot.pipeline.synthesize.llm)
    writing: dict[str, object] | None = None

    def to_dict(self, *, with_claims: bool = True) -> dict[str, object]:
        data: dict[str, object] = {
            "corpus": self.corpus,
            "claims_file": self.claims_file,
            "split": self.split,
            "papers": self.papers,
            "ingest_seconds": round(self.ingest_seconds, 3),
            "summaries": {name: asdict(s) for name, s in self.summaries.items()},
        }
        if self.writing is not None:
            data["writing"] = self.writing
        if with_claims:
            data["claims"] = [asdict(o) for o in self.outcomes]
            data["unanswerable"] = [asdict(o) for o in self.honesty]
        return data


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def _prf(correct: int, predicted: int, gold: int) -> tuple[float, float, float]:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def summarise(outcomes: list[ClaimOutcome], honesty: list[HonestyOutcome] | None = None) -> Summary:
    evidence = [o for o in outcomes if o.has_evidence]
    answered = [o for o in outcomes if o.status == AnswerStatus.answered.value]
    seconds = [o.seconds for o in outcomes]
    sentence = _prf(sum(o.sentences_correct for o in outcomes), sum(o.sentences_predicted for o in outcomes),
                    sum(o.sentences_gold for o in outcomes))
    abstract = _prf(sum(o.papers_correct for o in outcomes), sum(o.papers_predicted for o in outcomes),
                    sum(o.papers_gold for o in outcomes))
    label = _prf(sum(o.labels_correct for o in outcomes), sum(o.labels_predicted for o in outcomes),
                 sum(o.papers_gold for o in outcomes))
    statements = sum(o.statements for o in outcomes)
    agreeing = [o.verdict_correct for o in outcomes if o.verdict_correct is not None]
    return Summary(
        statement_precision=sum(o.statements_correct for o in outcomes) / statements if statements else 0.0,
        mean_statements=_mean([float(o.statements) for o in answered]),
        sentence_p=sentence[0], sentence_r=sentence[1], sentence_f1=sentence[2],
        abstract_p=abstract[0], abstract_r=abstract[1], abstract_f1=abstract[2],
        label_p=label[0], label_r=label[1], label_f1=label[2],
        verdict_accuracy=_share(agreeing),
        not_addressed_answerable=_share([o.verdict == "not_addressed" for o in evidence]),
        honesty=_share([h.verdict == "not_addressed" for h in honesty]) if honesty else None,
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


Asker = Callable[[Question], Answer]


def _outcome(cw: Citewise, claim: Claim, ask: Asker | None = None) -> ClaimOutcome:
    # The answer first, so its time includes embedding the question when dense retrieval is on
    # (the ranking then reuses that vector); the ranking is the same in either order.
    started = time.perf_counter()
    answer = (ask or cw.answer_now)(Question(text=claim.text, conversation_id=f"eval-{claim.id}-{new_id()}"))
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
        statements=judged.statements,
        statements_correct=judged.statements_correct,
        sentences_predicted=judged.sentences_predicted,
        sentences_correct=judged.sentences_correct,
        sentences_gold=claim.rationale_count,
        papers_predicted=judged.papers_predicted,
        papers_correct=judged.papers_correct,
        papers_gold=len(claim.rationales),
        labels_predicted=judged.labels_predicted,
        labels_correct=judged.labels_correct,
        verdict=judged.verdict,
        verdict_correct=judged.verdict_correct,
    )


def evaluate(cw: Citewise, claims: list[Claim], *, on_claim: Callable[[int], None] | None = None,
             ask: Asker | None = None) -> list[ClaimOutcome]:
    """Ask every claim of an already-filled store; `on_claim` is told how many are done.

    `ask` replaces the blocking extractive path (`answer_now`), e.g. by the async one that
    awaits a language model.
    """
    outcomes: list[ClaimOutcome] = []
    for done, claim in enumerate(claims, start=1):
        outcomes.append(_outcome(cw, claim, ask))
        if on_claim is not None:
            on_claim(done)
    return outcomes


def ask_unanswerable(cw: Citewise, questions: list[Unanswerable]) -> list[HonestyOutcome]:
    outcomes: list[HonestyOutcome] = []
    for q in questions:
        answer = cw.answer_now(Question(text=q.text, conversation_id=f"honesty-{q.id}-{new_id()}"))
        outcomes.append(HonestyOutcome(id=q.id, split=q.split, question=q.text, verdict=answer.verdict.value,
                                       verdict_text=answer.verdict_text))
    return outcomes


def _summaries(split: str, outcomes: list[ClaimOutcome], honesty: list[HonestyOutcome]) -> dict[str, Summary]:
    def part_of(name: str) -> list[HonestyOutcome]:
        return honesty if name == "all" else [h for h in honesty if h.split == name]

    summaries = {split: summarise(outcomes, part_of(split))}
    if split == "all":
        for part in ("tuning", "heldout"):
            summaries[part] = summarise([o for o in outcomes if o.split == part], part_of(part))
    return summaries


def run_scifact(
    corpus: str | Path,
    claims_path: str | Path,
    *,
    split: str = "all",
    on_claim: Callable[[int], None] | None = None,
    dense: DenseOptions | None = None,
    with_honesty: bool = True,
    llm: bool = False,
) -> EvalReport:
    """The whole evaluation in a temporary store that is deleted afterwards.

    `llm`: answers are written by the model CITEWISE_LLM_URL names (through the async path,
    TrueCite on every sentence); otherwise the model settings are ignored.
    """
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
        # The default eval stays extractive; with the model the async path is taken, and it must
        # not grow the store from the literature mid-run (answer_now never does).
        settings = settings.model_copy(update={"offline": True} if llm else {"llm_url": None})
        cw = build_citewise(settings, store=store, embedder=embedder)
        loop = asyncio.new_event_loop()
        ask: Asker | None = None
        if llm:
            if cw.writer is None:
                raise ValueError("--llm needs CITEWISE_LLM_URL")
            ask = lambda question: loop.run_until_complete(cw.answer(question))  # noqa: E731
        try:
            started = time.perf_counter()
            ingest_file(store, corpus, progress=False)  # embeds too, when dense is on
            ingest_seconds = time.perf_counter() - started
            if isinstance(embedder, CachedEmbedder):
                embedder.save()
            papers = store.count()
            logger.info("eval store: %d papers ingested in %.1f s; asking %d claims", papers, ingest_seconds, len(claims))
            outcomes = evaluate(cw, claims, on_claim=on_claim, ask=ask)
            honesty = ask_unanswerable(cw, build_unanswerable(corpus, store)) if with_honesty else []
            writing = _writing(cw) if llm else None
        finally:
            loop.run_until_complete(cw.aclose())
            loop.close()
    return EvalReport(
        corpus=str(corpus),
        claims_file=str(claims_path),
        split=split,
        papers=papers,
        ingest_seconds=ingest_seconds,
        summaries=_summaries(split, outcomes, honesty),
        outcomes=outcomes,
        honesty=honesty,
        writing=writing,
    )


def _writing(cw: Citewise) -> dict[str, object]:
    stats = cw.writer.stats if cw.writer is not None else None
    if stats is None:
        return {}
    return {"answers": stats.answers, "fallbacks": dict(stats.fallbacks), "sentences": stats.sentences,
            "supported_as_cited": stats.supported, "recited": stats.recited, "dropped": stats.dropped,
            "citation_recall": round(stats.citation_recall, 4), "citation_precision": round(stats.citation_precision, 4)}


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
    ("direct answer:", "", ""),
    ("  statement precision", "statement_precision", "{:.3f}"),
    ("  statements per answer", "mean_statements", "{:.2f}"),
    ("  sentence P", "sentence_p", "{:.3f}"),
    ("  sentence R", "sentence_r", "{:.3f}"),
    ("  sentence F1", "sentence_f1", "{:.3f}"),
    ("  abstract P", "abstract_p", "{:.3f}"),
    ("  abstract R", "abstract_r", "{:.3f}"),
    ("  abstract F1", "abstract_f1", "{:.3f}"),
    ("  label-only P", "label_p", "{:.3f}"),
    ("  label-only R", "label_r", "{:.3f}"),
    ("  label-only F1", "label_f1", "{:.3f}"),
    ("  verdict accuracy", "verdict_accuracy", "{:.1%}"),
    ("  answerable → not_addressed", "not_addressed_answerable", "{:.1%}"),
    ("  unanswerable → not_addressed", "honesty", "{:.1%}"),
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
        if not name:
            lines.append(label)
            continue
        for split in names:
            raw = getattr(report.summaries[split], name)
            if raw is None:
                cells.append("–".rjust(10))
                continue
            value = float(raw)
            cells.append((f"{value * 1000:.1f}" if fmt == "ms" else fmt.format(value)).rjust(10))
        lines.append(label.ljust(width) + "".join(cells))
    if report.writing:
        w = report.writing
        lines += ["written by the model (all splits; TrueCite as the judge):",
                  f"  answers {w['answers']}, fell back {sum(dict(w['fallbacks']).values())}: {w['fallbacks']}",  # type: ignore[call-overload]
                  f"  sentences {w['sentences']}: supported as cited {w['supported_as_cited']}, re-cited "
                  f"{w['recited']}, dropped {w['dropped']}",
                  f"  citation recall {float(w['citation_recall']):.3f} · citation precision "  # type: ignore[arg-type]
                  f"{float(w['citation_precision']):.3f}"]  # type: ignore[arg-type]
    return "\n".join(lines)
