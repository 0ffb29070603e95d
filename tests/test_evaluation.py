"""The SciFact evaluation: metrics by hand, judging answers, and a tiny end-to-end run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from adapters.cli import main
from bot.compose import build_citewise
from bot.models import Answer, AnswerSentence, AnswerStatus, Citation, Evidence, Source
from bot.settings import Settings
from evaluation import load_claims, ndcg_at_k, percentile, recall_at_k, run_scifact, select_split
from evaluation.judge import judge_answer
from evaluation.runner import evaluate, summarise
from evaluation.scifact import Claim
from knowledge.ingest import ingest_file
from knowledge.store import PaperStore
from tests.papers import write_jsonl

# ── metrics ──────────────────────────────────────────────────────────────


def test_ndcg_is_one_for_a_perfect_ranking_and_zero_without_hits() -> None:
    assert ndcg_at_k(["a", "b", "c"], {"a", "b"}, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], {"a"}, 10) == 0.0
    assert ndcg_at_k(["a"], set(), 10) == 0.0


def test_ndcg_discounts_by_position_and_caps_the_ideal_at_k() -> None:
    assert ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))
    # two relevant, only one slot: the ideal is one hit at rank 1
    assert ndcg_at_k(["a", "b"], {"a", "b"}, 1) == pytest.approx(1.0)
    # a repeated id counts once
    assert ndcg_at_k(["a", "a"], {"a", "b"}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_recall_counts_relevant_items_in_the_top_k() -> None:
    assert recall_at_k(["a", "x", "b"], {"a", "b"}, 2) == 0.5
    assert recall_at_k(["a", "x", "b"], {"a", "b"}, 3) == 1.0
    assert recall_at_k([], {"a"}, 10) == 0.0


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)


# ── claims and splits ────────────────────────────────────────────────────


def test_claims_load_with_string_ids_and_rationales(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "claims.jsonl", [
        {"id": 5, "claim": "A.", "evidence": {"17": [{"sentences": [1, 2], "label": "SUPPORT"},
                                                      {"sentences": [4], "label": "SUPPORT"}]},
         "cited_doc_ids": [17, 18]},
        {"id": 6, "claim": "B.", "evidence": {}, "cited_doc_ids": [3]},
    ])
    first, second = load_claims(path)
    assert first.cited_ids == ("17", "18") and first.rationale_sentences("17") == {1, 2, 4}
    assert first.has_evidence and not second.has_evidence
    assert [c.id for c in select_split([first, second], "heldout")] == [5]
    assert [c.id for c in select_split([first, second], "tuning")] == [6]
    with pytest.raises(ValueError):
        select_split([first], "dev")


# ── judging one answer ───────────────────────────────────────────────────


@pytest.fixture
def claim() -> Claim:
    return Claim(id=1, text="Aspirin lowers stroke risk.", cited_ids=("aspirin-stroke",),
                 rationales={"aspirin-stroke": (frozenset({1}),)})


def _answer(store: PaperStore, index: int, text: str | None = None) -> Answer:
    paper = store.get("aspirin-stroke")
    assert paper is not None
    quoted = paper.sentences[index]
    return Answer(
        question="q",
        status=AnswerStatus.answered,
        sentences=[AnswerSentence(text=text or quoted, citations=[Citation(n=1, index=index)])],
        sources=[Source(n=1, id=paper.id, title=paper.title, evidence=[Evidence(index=index, text=quoted)])],
    )


def test_judge_credits_the_gold_paper_and_rationale(store: PaperStore, claim: Claim) -> None:
    judged = judge_answer(claim, _answer(store, 1), store.get_many)
    assert judged.answered and judged.gold_cited and judged.rationale_quoted and judged.verified
    other = judge_answer(claim, _answer(store, 3), store.get_many)
    assert other.gold_cited and not other.rationale_quoted


def test_judge_fails_verification_of_a_misquote(store: PaperStore, claim: Claim) -> None:
    judged = judge_answer(claim, _answer(store, 1, text="Aspirin cures every stroke."), store.get_many)
    assert not judged.verified


def test_no_evidence_answers_count_as_not_citing(store: PaperStore, claim: Claim) -> None:
    judged = judge_answer(claim, Answer(question="q", status=AnswerStatus.no_evidence), store.get_many)
    assert not judged.answered and not judged.gold_cited and judged.verified and judged.words == 0


# ── end to end on a tiny hand-made corpus ────────────────────────────────

_CORPUS = [
    {"doc_id": 11, "title": "Low-dose aspirin for the primary prevention of ischemic stroke", "structured": False,
     "abstract": ["Aspirin inhibits platelet aggregation.",
                  "In a cohort of 19,000 healthy adults, low-dose aspirin reduced ischemic stroke by 17%.",
                  "Aspirin increased gastrointestinal bleeding."]},
    {"doc_id": 12, "title": "Coffee consumption and liver cirrhosis", "structured": False,
     "abstract": ["Coffee is widely consumed.",
                  "Drinking two cups of coffee per day was associated with a 44% lower risk of liver cirrhosis."]},
    {"doc_id": 13, "title": "Sleep deprivation impairs memory consolidation", "structured": False,
     "abstract": ["Sleep is thought to support memory.",
                  "Participants deprived of sleep recalled 40% fewer word pairs than rested controls."]},
    {"doc_id": 14, "title": "Dietary salt reduction and blood pressure", "structured": False,
     "abstract": ["High salt intake raises blood pressure.",
                  "Reducing salt intake for four weeks lowered systolic blood pressure by 5 mmHg in hypertension."]},
]
_CLAIMS = [
    {"id": 1, "claim": "Low-dose aspirin reduces ischemic stroke in healthy adults.",
     "evidence": {"11": [{"sentences": [1], "label": "SUPPORT"}]}, "cited_doc_ids": [11]},
    {"id": 2, "claim": "Coffee drinking lowers the risk of liver cirrhosis.",
     "evidence": {"12": [{"sentences": [1], "label": "SUPPORT"}]}, "cited_doc_ids": [12]},
    {"id": 5, "claim": "Sleep deprivation impairs recall of word pairs.",
     "evidence": {"13": [{"sentences": [1], "label": "SUPPORT"}]}, "cited_doc_ids": [13]},
    {"id": 7, "claim": "Reducing salt intake lowers blood pressure.", "evidence": {}, "cited_doc_ids": [14]},
]


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    return write_jsonl(tmp_path / "corpus.jsonl", _CORPUS), write_jsonl(tmp_path / "claims.jsonl", _CLAIMS)


def test_tiny_scifact_run_finds_and_quotes_every_gold_paper(tiny: tuple[Path, Path]) -> None:
    corpus, claims = tiny
    report = run_scifact(corpus, claims, split="all")
    assert report.papers == 4 and set(report.summaries) == {"all", "tuning", "heldout"}
    overall = report.summaries["all"]
    assert overall.claims == 4 and overall.with_evidence == 3
    assert overall.ndcg_at_10 == pytest.approx(1.0) and overall.recall_at_100 == 1.0
    assert overall.gold_cited == 1.0 and overall.rationale_quoted == 1.0 and overall.verified == 1.0
    assert overall.no_evidence == 0.0 and overall.mean_words > 5
    assert report.summaries["heldout"].claims == 1  # claim 5
    assert [o.gold_ranks for o in report.outcomes][0] == {"11": 1}


def test_eval_cli_prints_a_table_and_writes_json(tiny: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    corpus, claims = tiny
    out = tmp_path / "eval.json"
    code = main(["eval", "scifact", "--corpus", str(corpus), "--claims", str(claims), "--split", "tuning",
                 "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "nDCG@10" in printed and "gold rationale quoted" in printed and "tuning" in printed
    data = json.loads(out.read_text())
    assert data["summaries"]["tuning"]["claims"] == 3 and len(data["claims"]) == 3


def test_eval_cli_reports_a_missing_file_in_one_line(tmp_path: Path, capsys) -> None:
    code = main(["eval", "scifact", "--corpus", str(tmp_path / "nope.jsonl"), "--claims", str(tmp_path / "c.jsonl")])
    assert code == 2 and "no such file" in capsys.readouterr().err


# ── a slice of the real SciFact (skipped when the data is absent) ─────────


def test_scifact_slice_is_answered_with_verified_citations(scifact_dir: Path, tmp_path: Path) -> None:
    store = PaperStore(tmp_path / "scifact.db")
    cw = build_citewise(Settings(db_path=store.path), store=store)
    try:
        ingest_file(store, scifact_dir / "corpus.jsonl", progress=False)
        claims = select_split(load_claims(scifact_dir / "claims_train.jsonl"), "heldout")[:40]
        summary = summarise(evaluate(cw, claims))
    finally:
        cw.close()
    assert summary.claims == 40
    assert summary.verified == 1.0
    assert summary.recall_at_100 > 0.7 and summary.ndcg_at_10 > 0.4
