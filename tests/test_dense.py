"""Optional dense retrieval: fusion logic, the stored vectors, and the hybrid search path.

A fake embedder (deterministic word vectors) stands in for the model everywhere but
the last test, which loads the real one and skips when the `dense` extra is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.compose import build_citewise
from bot.models import Question
from bot.settings import Settings
from knowledge.dense import CachedEmbedder, DenseIndex, DenseUnavailable, dense_available, top_k
from knowledge.fusion import fuse, reciprocal_rank_fusion, weighted_fusion
from knowledge.index import WeightedTerm
from knowledge.papers import Paper
from knowledge.store import PaperStore
from tests.dense_helpers import PAPERS, FakeEmbedder
from tests.dense_helpers import paper as _paper


# ── fusion ─────────────────────────────────────────────────────────────────
def test_rrf_rewards_papers_both_rankings_agree_on() -> None:
    lexical = [("a", 12.0), ("b", 9.0), ("c", 1.0)]
    dense = [("c", 0.9), ("b", 0.8), ("d", 0.7)]
    fused = reciprocal_rank_fusion(lexical, dense, dense_weight=0.5)
    # c: ranks 3 and 1, b: 2 and 2, a: 1 alone, d: 3 alone
    assert [pid for pid, _ in fused] == ["c", "b", "a", "d"]
    assert dict(fused)["b"] == pytest.approx(0.5 / 62 + 0.5 / 62)


def test_rrf_weight_zero_keeps_the_lexical_order() -> None:
    lexical = [("a", 3.0), ("b", 2.0), ("c", 1.0)]
    dense = [("c", 0.9), ("b", 0.5), ("a", 0.1)]
    assert [pid for pid, _ in reciprocal_rank_fusion(lexical, dense, dense_weight=0.0)] == ["a", "b", "c"]
    assert [pid for pid, _ in reciprocal_rank_fusion(lexical, dense, dense_weight=1.0)] == ["c", "b", "a"]


def test_weighted_fusion_normalises_both_scales() -> None:
    lexical = [("a", 30.0), ("b", 20.0), ("c", 10.0)]
    cosine = {"a": 0.2, "b": 0.9, "c": 0.3, "d": 0.95}
    fused = dict(weighted_fusion(lexical, cosine, ["a", "b", "c", "d"], dense_weight=0.5))
    # norm BM25: a 1, b .5, c 0, d (absent) 0; norm cosine over the four: a 0, b .933, c .133, d 1
    assert fused["a"] == pytest.approx(0.5)
    assert fused["b"] == pytest.approx(0.5 * 0.5 + 0.5 * (0.7 / 0.75))
    assert fused["d"] == pytest.approx(0.5)
    assert max(fused, key=fused.__getitem__) == "b"


def test_fuse_dispatches_and_rejects_unknown_methods() -> None:
    lexical, dense = [("a", 2.0), ("b", 1.0)], [("b", 0.9), ("a", 0.1)]
    cosine = dict(dense)
    assert fuse(lexical, dense, cosine, method="weighted", dense_weight=1.0)[0][0] == "b"
    assert fuse(lexical, dense, cosine, method="rrf", dense_weight=0.0)[0][0] == "a"
    with pytest.raises(ValueError):
        fuse(lexical, dense, cosine, method="nope")  # type: ignore[arg-type]


def test_top_k_orders_and_clips() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.7], dtype=np.float32)
    assert top_k(scores, ["a", "b", "c", "d"], 2) == [("b", pytest.approx(0.9)), ("d", pytest.approx(0.7))]
    assert len(top_k(scores, ["a", "b", "c", "d"], 10)) == 4
    assert top_k(scores, ["a", "b", "c", "d"], 0) == []


# ── the stored vectors ─────────────────────────────────────────────────────
def test_vectors_persist_and_only_new_papers_are_embedded(tmp_path: Path) -> None:
    store = PaperStore(tmp_path / "s.db")
    embedder = FakeEmbedder()
    dense = store.attach_dense(embedder)
    store.add_papers(PAPERS[:3])
    assert dense.size == 3 and embedder.texts == 3
    store.add_papers(PAPERS[3:])
    assert dense.size == 4 and embedder.texts == 4
    store.close()

    again = PaperStore(tmp_path / "s.db")
    second = FakeEmbedder()
    reopened = again.attach_dense(second)
    assert reopened.size == 4 and second.texts == 0  # loaded from the store, nothing re-embedded
    assert reopened.search("heart failure", 1)[0][0] == "cardio"
    assert reopened.rebuild() == 4 and second.texts == 1 + 4  # the query, then every paper
    again.close()


def test_a_changed_paper_is_re_embedded_in_place(tmp_path: Path) -> None:
    store = PaperStore(tmp_path / "s.db")
    dense = store.attach_dense(FakeEmbedder())
    store.add_papers([_paper("p1", "Short note on heart research")])
    store.add_papers([Paper(id="p1", title="Short note on heart research", sentences=[], doi="10.1/x")])
    assert dense.size == 1
    store.close()


# ── hybrid search ──────────────────────────────────────────────────────────
def test_dense_finds_a_synonym_that_bm25_misses(tmp_path: Path) -> None:
    store = PaperStore(tmp_path / "s.db")
    store.add_papers(PAPERS)
    terms = [WeightedTerm("myocardial"), WeightedTerm("arrest")]
    text = "myocardial arrest"
    lexical = store.rank([WeightedTerm("myocardial")], 10, text=text)
    assert lexical == []  # no paper says "myocardial"
    store.attach_dense(FakeEmbedder(), method="rrf", dense_weight=0.5)
    hybrid = store.rank(terms, 3, text=text)
    assert hybrid[0][0] == "cardio"
    assert store.rank(terms, 3) == store.index.search(terms, 3)  # no text: BM25 alone
    store.close()


def test_weighted_fusion_through_the_store(tmp_path: Path) -> None:
    store = PaperStore(tmp_path / "s.db")
    store.add_papers(PAPERS)
    store.attach_dense(FakeEmbedder(), method="weighted", dense_weight=0.6)
    hits = store.search([WeightedTerm("tumour"), WeightedTerm("screening")], 2, text="tumour screening")
    assert hits[0][0].id == "onco"
    store.close()


def test_citewise_answers_with_dense_on(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "s.db", dense=True, offline=True)
    cw = build_citewise(settings, embedder=FakeEmbedder())
    try:
        cw.store.add_papers(PAPERS)
        assert cw.store.dense is not None and cw.store.dense.size == 4
        assert cw.rank_now("does cardiac arrest survival improve with defibrillation?", 2)[0][0] == "cardio"
        answer = cw.answer_now(Question(text="Does early defibrillation improve cardiac arrest survival?",
                                        conversation_id="t1"))
        assert "cardio" in [s.id for s in answer.sources]
    finally:
        cw.close()


def test_dense_off_by_default(tmp_path: Path) -> None:
    cw = build_citewise(Settings(db_path=tmp_path / "s.db", offline=True))
    try:
        assert cw.store.dense is None
    finally:
        cw.close()


def test_dense_without_the_packages_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import knowledge.dense

    monkeypatch.setattr(knowledge.dense, "dense_available", lambda: False)
    store = PaperStore(tmp_path / "s.db")
    try:
        with pytest.raises(DenseUnavailable):
            build_citewise(Settings(db_path=store.path, dense=True, offline=True), store=store)
    finally:
        store.close()


def test_cached_embedder_reuses_vectors_across_runs(tmp_path: Path) -> None:
    path = tmp_path / "cache.npz"
    first = FakeEmbedder()
    cached = CachedEmbedder(first, path)
    vectors = cached.encode(["alpha beta", "gamma"])
    cached.save()
    second = FakeEmbedder()
    again = CachedEmbedder(second, path).encode(["gamma", "alpha beta"])
    assert second.texts == 0
    np.testing.assert_allclose(again, vectors[::-1])


# ── the real model (only with the `dense` extra installed) ─────────────────
@pytest.mark.skipif(not dense_available(), reason="the dense extra (sentence-transformers) is not installed")
def test_minilm_loads_offline_and_ranks_by_meaning(tmp_path: Path) -> None:
    from knowledge.dense import MiniLMEmbedder

    store = PaperStore(tmp_path / "s.db")
    try:
        dense: DenseIndex = store.attach_dense(MiniLMEmbedder())
        store.add_papers(PAPERS)
        assert dense.size == 4
        assert dense.search("myocardial infarction and resuscitation", 1)[0][0] == "cardio"
        assert dense.search("neoplasm detection", 1)[0][0] == "onco"
    finally:
        store.close()
