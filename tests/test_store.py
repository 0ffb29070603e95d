"""The paper store: persistence, search ranking, and adding while searching."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from knowledge.database import StoreError
from knowledge.index import WeightedTerm
from knowledge.papers import Paper
from knowledge.store import PaperStore, index_path_for
from knowledge.text import content_words
from tests.conftest import make_papers


def _terms(text: str) -> list[WeightedTerm]:
    return [WeightedTerm(w) for w in content_words(text)]


def test_store_survives_reopen_without_reindexing(store: PaperStore, db_path: Path) -> None:
    store.close()
    reopened = PaperStore(db_path)
    assert reopened.count() == 12 and reopened.index.size == 12
    assert reopened.index.sync() == 0  # nothing to re-index at start-up
    paper = reopened.get("aspirin-stroke")
    assert paper is not None and paper.authors[0] == "Maria Rossi" and paper.url == "https://example.org/aspirin"
    assert reopened.db.schema_version >= 1
    reopened.close()


def test_lost_index_is_rebuilt_from_the_store(store: PaperStore, db_path: Path) -> None:
    store.close()
    shutil.rmtree(index_path_for(db_path))
    reopened = PaperStore(db_path)
    assert reopened.index.size == 12
    assert reopened.search(_terms("telomere stress"), k=1)[0][0].id == "telomeres-stress"
    reopened.close()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("vitamin D fractures", {"vitd-rct", "vitd-meta"}),
        ("aspirin stroke prevention", {"aspirin-stroke"}),
        ("does sleep loss hurt memory", {"sleep-memory"}),
        ("CRISPR sickle cell", {"crispr-sickle"}),
        ("salt blood pressure hypertension", {"salt-bp"}),
    ],
)
def test_search_ranks_the_matching_papers_first(store: PaperStore, query: str, expected: set[str]) -> None:
    hits = store.search(_terms(query), k=5)
    top = {paper.id for paper, _ in hits[: len(expected)]}
    assert top == expected
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)


def test_search_handles_query_syntax_characters(store: PaperStore) -> None:
    weird = 'vitamin:D AND (fractures) "OR" NOT -aspirin* ^2 [1]'
    hits = store.search(_terms(weird), k=3)
    assert hits and hits[0][0].id.startswith("vitd")
    assert store.search([], k=3) == []


def test_adding_papers_while_searching_never_breaks_a_search(store: PaperStore, db_path: Path) -> None:
    errors: list[BaseException] = []
    results: list[int] = []
    stop = threading.Event()

    def searcher() -> None:
        reader = PaperStore(db_path)  # a second process-like reader over the same files
        try:
            while not stop.is_set():
                hits = reader.search(_terms("vitamin D fractures"), k=10)
                results.append(len(hits))
                assert hits[0][0].id in {"vitd-rct", "vitd-meta"}
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    thread = threading.Thread(target=searcher)
    thread.start()
    for batch in range(5):
        store.add_papers(
            [Paper(id=f"extra-{batch}-{i}", title=f"Unrelated topic {batch} {i}", sentences=["Nothing on vitamins here."])
             for i in range(200)]
        )
    stop.set()
    thread.join(timeout=30)
    assert not errors
    assert results and min(results) >= 2
    assert store.count() == 12 + 1000 and store.index.size == 12 + 1000


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not sqlite " * 100)
    with pytest.raises(StoreError, match="not a usable Citewise store"):
        PaperStore(bogus)
    assert bogus.read_text().startswith("this is not sqlite")  # nothing of the user's was overwritten


def test_failed_batch_leaves_the_store_as_it_was(store: PaperStore) -> None:
    def papers():
        yield Paper(id="new-1", title="Brand new paper", sentences=["New."])
        raise RuntimeError("the source broke mid-way")

    with pytest.raises(RuntimeError):
        store.add_papers(papers())
    assert store.get("new-1") is None and store.count() == 12
    assert {p.id for p in make_papers()} <= {p.id for p in store.get_many([p.id for p in make_papers()]).values()}


def test_papers_fed_without_commit_are_published_only_by_the_next_sync(store: PaperStore) -> None:
    watermark = store.db.get_meta("index_version")
    store.add_papers([Paper(id="late", title="Zebrafish fin regeneration", sentences=["Fins regrow."])],
                     commit_index=False)
    assert store.db.get_meta("index_version") == watermark  # a crash now means re-indexing, not a lost paper
    assert store.index.search(_terms("zebrafish"), 5) == []
    assert store.index.sync() == 1
    assert [pid for pid, _ in store.index.search(_terms("zebrafish"), 5)] == ["late"]
    assert store.index.size == store.count() == 13


def test_rows_the_index_was_not_fed_are_caught_up_from_the_store(store: PaperStore) -> None:
    store.add_papers([Paper(id="quiet", title="Noise exposure and hearing loss", sentences=["Noise."])], index=False)
    # The next write does not continue where the index is: it reads the gap from SQLite.
    store.add_papers([Paper(id="loud", title="Music festivals and tinnitus", sentences=["Tinnitus."])])
    assert {pid for pid, _ in store.index.search(_terms("noise tinnitus"), 5)} == {"quiet", "loud"}
    assert store.index.size == store.count() == 14


def test_an_updated_paper_replaces_its_indexed_copy(store: PaperStore) -> None:
    store.add_papers([Paper(id="note", title="Short note on heart research", sentences=[])])
    store.add_papers([Paper(id="note", title="Short note on heart research", sentences=["Cardiac fibrosis."])])
    assert [pid for pid, _ in store.index.search(_terms("cardiac fibrosis"), 5)] == ["note"]
    assert store.index.size == store.count() == 13


def test_bulk_writes_widen_the_checkpoint_interval_only_while_they_last(store: PaperStore) -> None:
    conn = store.db.connect()

    def interval() -> int:
        return int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])

    usual = interval()
    with pytest.raises(RuntimeError), store.db.bulk_writes():
        assert interval() > usual
        raise RuntimeError("the ingest broke")
    assert interval() == usual
