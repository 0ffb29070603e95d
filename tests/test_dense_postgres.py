"""Dense retrieval on PostgreSQL: one dense index per team, vectors shared by every worker.

The fake embedder (tests/dense_helpers.py) stands in for the model: it counts what it embeds,
which is how these tests see that a second worker reads the first one's vectors instead of
embedding again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bot.compose import build_citewise
from bot.settings import Settings
from knowledge.index import WeightedTerm
from knowledge.tenancy import team_scope
from tests.dense_helpers import PAPERS, FakeEmbedder, paper

pytest.importorskip("psycopg")

from knowledge.postgres import PostgresDatabase, PostgresPaperStore

TEAM_A, TEAM_B = PAPERS[:2], PAPERS[2:]  # cardio, onco | sleep, diet


@pytest.fixture
def db(postgres_db: PostgresDatabase) -> PostgresDatabase:
    return postgres_db


def _worker(db: PostgresDatabase, root: Path) -> PostgresPaperStore:
    """One worker's store: the shared database, its own index directory."""
    return PostgresPaperStore(db, root, owns_database=False)


def _vectors_by_team(db: PostgresDatabase) -> dict[str, int]:
    with db.connection() as conn:
        rows = conn.execute("SELECT team, COUNT(*) AS n FROM paper_vectors GROUP BY team").fetchall()
    return {row["team"]: int(row["n"]) for row in rows}


@pytest.mark.parametrize("method", ["weighted", "rrf"])
def test_a_teams_hybrid_ranking_holds_only_its_own_papers(postgres_url: str, db: PostgresDatabase,
                                                          tmp_path: Path, method: str) -> None:
    settings = Settings(db_path=tmp_path / "unused.db", database_url=postgres_url, index_dir=tmp_path / "idx",
                        dense=True, dense_fusion=method)
    core = build_citewise(settings, embedder=FakeEmbedder())
    store = core.store
    assert isinstance(store, PostgresPaperStore)
    try:
        with team_scope("TA"):
            store.add_papers(TEAM_A)
        with team_scope("TB"):
            store.add_papers(TEAM_B)
        assert _vectors_by_team(db) == {"TA": 2, "TB": 2}
        question = "does sleep deprivation impair memory consolidation?"  # only team B's words
        with team_scope("TA"):
            assert store.dense is not None and store.dense.size == 2
            hits = core.rank_now(question, 10)
            assert hits and {pid for pid, _ in hits} <= {"cardio", "onco"}
            assert {pid for pid, _ in store.dense.search(question, 10)} == {"cardio", "onco"}
        with team_scope("TB"):
            assert core.rank_now(question, 1)[0][0] == "sleep"
            assert {pid for pid, _ in core.rank_now("cardiac arrest survival", 10)} <= {"sleep", "diet"}
    finally:
        core.close()


def test_a_second_worker_reuses_the_first_workers_vectors_and_catches_up(db: PostgresDatabase,
                                                                           tmp_path: Path) -> None:
    first_model, second_model = FakeEmbedder(), FakeEmbedder()
    first = _worker(db, tmp_path / "worker-1")
    first.attach_dense(first_model)
    with team_scope("TA"):
        first.add_papers(PAPERS[:3])
    assert first_model.texts == 3
    second = _worker(db, tmp_path / "worker-2")
    with team_scope("TA"):
        dense = second.attach_dense(second_model)
        assert dense.size == 3 and second_model.texts == 0  # read from the database, nothing embedded
        # "heart" is in no paper: BM25 finds nothing, the dense vectors (cardiac) find cardio
        assert second.rank([WeightedTerm("heart")], 1, text="heart")[0][0] == "cardio"
        assert second_model.texts == 1  # the question, not the papers

        first.add_papers([PAPERS[3]])  # through worker 1, after worker 2 started
        second._synced_at.clear()  # worker 2's next ranking catches up now
        assert second.rank([WeightedTerm("nothing")], 1, text="fibre and the gut microbiome")[0][0] == "diet"
        assert second.dense is not None and second.dense.size == 4
        assert second_model.texts == 2 and first_model.texts == 4  # each paper embedded once, by worker 1

    restarted_model = FakeEmbedder()
    restarted = _worker(db, tmp_path / "worker-2")
    with team_scope("TA"):
        assert restarted.attach_dense(restarted_model).size == 4 and restarted_model.texts == 0
    for store in (first, second, restarted):
        store.close()


class _MeetingEmbedder(FakeEmbedder):
    """Embeds only once every racer has reached it, so both workers save the same papers' vectors."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__()
        self._barrier = barrier

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self._barrier.wait()
        return super().encode(texts)


def test_two_workers_racing_to_embed_the_same_papers_both_succeed(db: PostgresDatabase, tmp_path: Path) -> None:
    writer = _worker(db, tmp_path / "writer")  # no dense retrieval: nothing embedded yet
    with team_scope("TA"):
        writer.add_papers(PAPERS)
    barrier = threading.Barrier(2, timeout=30)
    workers = [_worker(db, tmp_path / f"worker-{n}") for n in (1, 2)]

    def embed(store: PostgresPaperStore) -> int:
        with team_scope("TA"):
            return store.attach_dense(_MeetingEmbedder(barrier)).size

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(embed, workers)) == [4, 4]
    assert _vectors_by_team(db) == {"TA": 4}
    with db.connection() as conn:
        mark = conn.execute("SELECT version FROM vector_watermarks WHERE team = 'TA'").fetchone()
        latest = conn.execute("SELECT MAX(version) AS v FROM papers WHERE team = 'TA'").fetchone()
    assert mark is not None and latest is not None and mark["version"] == latest["v"]
    for store in (writer, *workers):
        store.close()


def test_a_changed_paper_is_re_embedded_once_for_every_worker(db: PostgresDatabase, tmp_path: Path) -> None:
    first_model, second_model = FakeEmbedder(), FakeEmbedder()
    first, second = _worker(db, tmp_path / "worker-1"), _worker(db, tmp_path / "worker-2")
    first.attach_dense(first_model)
    second.attach_dense(second_model)
    with team_scope("TA"):
        first.add_papers([paper("p1", "Short note on heart research")])
        first.add_papers([paper("p1", "Short note on heart research").model_copy(update={"doi": "10.1/x"})])
        second._synced_at.clear()
        assert second.rank([WeightedTerm("heart")], 1, text="heart")[0][0] == "p1"
        assert second.dense is not None and second.dense.size == 1
    assert first_model.texts == 2 and second_model.texts == 1  # two versions by worker 1; worker 2 the question
    first.close()
    second.close()


def test_the_cli_re_embeds_the_team_it_is_given(postgres_url: str, db: PostgresDatabase, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import knowledge.dense
    from adapters.cli import main
    from tests.papers import PAPERS as CLI_PAPERS
    from tests.papers import write_jsonl

    monkeypatch.setattr(knowledge.dense, "dense_available", lambda: True)
    monkeypatch.setattr(knowledge.dense, "MiniLMEmbedder", FakeEmbedder)  # the CLI's model, without the model
    monkeypatch.setenv("CITEWISE_DATABASE_URL", postgres_url)
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "cli-index"))
    assert main(["--team", "TCLI", "ingest", "--quiet", str(write_jsonl(tmp_path / "p.jsonl", CLI_PAPERS))]) == 0
    other = _worker(db, tmp_path / "other")
    with team_scope("TOTHER"):
        other.add_papers(TEAM_B)
    other.close()
    capsys.readouterr()
    assert main(["--team", "TCLI", "reindex", "--dense"]) == 0
    out = capsys.readouterr().out
    assert f"re-indexed {len(CLI_PAPERS)} papers" in out and f"embedded {len(CLI_PAPERS)} papers" in out
    assert _vectors_by_team(db) == {"TCLI": len(CLI_PAPERS)}  # the other team's papers were not touched
