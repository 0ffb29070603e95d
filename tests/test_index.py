"""The search index: query text and rebuilding an index of an older layout."""

from __future__ import annotations

from pathlib import Path

from knowledge.index import WeightedTerm, build_query_text
from knowledge.store import PaperStore
from tests.papers import make_papers


def test_hyphenated_words_are_split_as_the_index_splits_them() -> None:
    text = build_query_text([WeightedTerm("IL-6"), WeightedTerm("the"), WeightedTerm("beta-globin", 0.5)])
    assert text == "il 6 beta^0.500 globin^0.500"


def test_an_index_of_an_older_layout_is_rebuilt_on_open(db_path: Path) -> None:
    store = PaperStore(db_path)
    store.add_papers(make_papers())
    store.db.set_meta("index_layout", "1")
    store.close()
    again = PaperStore(db_path)
    try:
        assert again.index.size == again.count() == 12
        assert again.search([WeightedTerm("aspirin")], k=1)[0][0].id == "aspirin-stroke"
    finally:
        again.close()


def test_in_a_large_store_words_most_papers_contain_are_left_out(tmp_path: Path) -> None:
    from knowledge.papers import Paper

    store = PaperStore(tmp_path / "common.db")
    papers = [Paper(id=f"p{i}", title=f"Patients in cohort {i}", sentences=[f"Patients were followed for {i} years."])
              for i in range(20)]
    papers.append(Paper(id="rare", title="Patients with scurvy", sentences=["Scurvy resolved with vitamin C."]))
    store.add_papers(papers)
    terms = [WeightedTerm("patients"), WeightedTerm("scurvy")]
    assert len(store.index.search(terms, 30)) == 21  # a small store: every word counts

    store.index.common_word_min_papers = 10  # pretend the store is large
    hits = store.index.search(terms, 30)
    assert [paper_id for paper_id, _ in hits] == ["rare"]  # "patients" (in every paper) no longer matches
    only_common = store.index.search([WeightedTerm("patients")], 30)
    assert len(only_common) == 21  # a query of common words only keeps them rather than finding nothing
    store.close()
