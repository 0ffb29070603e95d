"""The search index: query text and rebuilding an index of an older layout."""

from __future__ import annotations

from pathlib import Path

from knowledge.index import WeightedTerm, build_query_text
from knowledge.store import PaperStore
from tests.conftest import make_papers


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
