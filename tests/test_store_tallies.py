"""`citewise stats` and the paper count read running tallies; they must say what a scan says.

The tallies are kept by triggers on every insert, merge and delete, and filled once when an
older store is migrated, so each case here compares them with counting the papers directly.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.papers import Paper
from knowledge.store import PaperStore
from tests.conftest import make_papers


def _scanned(store: PaperStore) -> dict[str, object]:
    conn = store.db.connect()
    return {
        "papers": conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0],
        "sentences": conn.execute("SELECT COALESCE(SUM(json_array_length(sentences)), 0) FROM papers").fetchone()[0],
        "by_origin": {r[0]: r[1] for r in conn.execute("SELECT origin, COUNT(*) FROM papers GROUP BY origin")},
        "by_adder": {r[0] or "unknown": r[1]
                     for r in conn.execute("SELECT added_by, COUNT(*) FROM papers GROUP BY added_by")},
        "last_added_at": conn.execute("SELECT MAX(added_at) FROM papers").fetchone()[0],
    }


def _tallied(store: PaperStore) -> dict[str, object]:
    stats = store.stats()
    assert stats["papers"] == store.count()
    return {key: stats[key] for key in ("papers", "sentences", "by_origin", "by_adder", "last_added_at")}


def test_tallies_follow_inserts_merges_and_deletes(store: PaperStore) -> None:
    assert _tallied(store) == _scanned(store)
    extra = Paper(id="x1", title="A new paper on sleep and memory consolidation", sentences=["One.", "Two."],
                  origin="openalex")
    store.add_papers([extra], added_by="slack:U1")
    store.add_papers([Paper(id="x2", title="Another on gut flora", sentences=["Only one."])], added_by="")
    longer = extra.model_copy(update={"sentences": ["One.", "Two.", "Three, added by a merge."]})
    store.add_papers([longer], added_by="cli:someone")  # same id: merged into the stored paper
    assert _tallied(store) == _scanned(store)
    with store.db.write() as conn:
        conn.execute("DELETE FROM papers WHERE id = 'x2'")
    assert _tallied(store) == _scanned(store)
    with store.db.write() as conn:
        conn.execute("UPDATE papers SET origin = 'crossref', added_by = NULL WHERE id = 'x1'")
    assert _tallied(store) == _scanned(store)


def test_an_older_store_gets_its_tallies_filled(db_path: Path) -> None:
    store = PaperStore(db_path)
    store.add_papers(make_papers(), added_by="cli:me")
    with store.db.write() as conn:  # as a store written before the tallies existed
        for trigger in ("paper_tallies_insert", "paper_tallies_delete", "paper_tallies_moved", "paper_tallies_sentences"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE paper_tallies")
        conn.execute("PRAGMA user_version = 2")
    store.close()
    reopened = PaperStore(db_path)
    assert reopened.db.schema_version == 3
    assert _tallied(reopened) == _scanned(reopened) and reopened.count() == 12
    reopened.close()
