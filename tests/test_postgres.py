"""What only PostgreSQL promises: claims that hold across workers and expire when a worker dies,
an index per worker that catches up with papers another worker added, the backend chosen by URL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.compose import build_citewise
from bot.models import Answer, AnswerStatus, InboundMessage, Turn
from bot.router import Ask, Ignore, Router
from bot.settings import Settings
from knowledge.index import WeightedTerm
from knowledge.papers import Paper
from tests.papers import make_papers

pytest.importorskip("psycopg")

from bot.postgres_conversations import PostgresConversations
from knowledge.postgres import PostgresDatabase, PostgresPaperStore


@pytest.fixture
def db(postgres_db: PostgresDatabase) -> PostgresDatabase:
    return postgres_db


def _age_claims(db: PostgresDatabase, seconds: int) -> None:
    """Pretend every claim was taken `seconds` ago (instead of waiting on the wall clock)."""
    with db.connection() as conn:
        conn.execute("UPDATE processed_events SET claimed_at = now() - make_interval(secs => %s)", (seconds,))


def test_of_many_workers_claiming_one_event_exactly_one_wins(db: PostgresDatabase) -> None:
    memories = [PostgresConversations(db) for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(lambda n: memories[n % 4].claim_event("slack:event:Ev1"), range(24)))
    assert wins.count(True) == 1


def test_a_claim_abandoned_mid_answer_is_taken_again_after_the_timeout(db: PostgresDatabase) -> None:
    memory = PostgresConversations(db, claim_timeout=60)
    assert memory.claim_event("slack:post:C1:1.1")
    assert not memory.claim_event("slack:post:C1:1.1")  # still within the lease: a twin or a retry
    _age_claims(db, 61)
    assert memory.claim_event("slack:post:C1:1.1")  # the first worker died: the retry answers it


def test_a_claim_settled_by_its_answer_never_expires(db: PostgresDatabase) -> None:
    memory = PostgresConversations(db, claim_timeout=60)
    assert memory.claim_event("slack:post:C1:2.2")
    memory.settle_claims(["slack:post:C1:2.2"], "conv-1")
    answer = Answer(question="q", status=AnswerStatus.no_evidence)
    memory.record_turn("conv-1", Turn(question="q", query="q", answer_id=answer.id), answer)
    _age_claims(db, 3600)
    assert not memory.claim_event("slack:post:C1:2.2")


async def test_the_router_leaves_an_unanswered_question_claimable_and_an_ignored_one_settled(
    db: PostgresDatabase,
) -> None:
    memory = PostgresConversations(db, claim_timeout=60)
    router = Router(memory)
    message = InboundMessage(platform="slack", text="does aspirin prevent stroke?", user="U1", team="T1",
                             conversation_key="slack:T1:C1:3.3", mentioned=True, message_id="C1:3.3", event_id="Ev3")
    assert isinstance(await router.route(message), Ask)
    own = message.model_copy(update={"event_id": "Ev4", "message_id": "C1:4.4", "from_self": True})
    assert isinstance(await router.route(own), Ignore)
    _age_claims(db, 61)
    assert isinstance(await router.route(own), Ignore) and not memory.claim_event("slack:event:Ev4")  # settled
    retry = await router.route(message)  # the question's worker never recorded an answer
    assert isinstance(retry, Ask)


def test_a_paper_added_through_one_worker_is_found_by_another(db: PostgresDatabase, tmp_path: Path) -> None:
    first = PostgresPaperStore(db, tmp_path / "worker-1", owns_database=False)
    second = PostgresPaperStore(db, tmp_path / "worker-2", owns_database=False)
    first.add_papers(make_papers())
    second._synced_at.clear()  # the next search looks for new papers now
    assert [p.id for p, _ in second.search([WeightedTerm("telomere")], k=1)] == ["telomeres-stress"]
    first.add_papers([Paper(id="zebra", title="Zebrafish fin regeneration", sentences=["Fins regrow."])])
    assert second.index.sync() == 1 and second.index.size == 13
    second.close()
    reopened = PostgresPaperStore(db, tmp_path / "worker-2", owns_database=False)
    assert reopened.index.sync() == 0 and reopened.index.size == 13  # a restarted worker reads only what is new


def test_the_settings_url_selects_postgresql(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "unused.db", database_url=postgres_url, index_dir=tmp_path / "idx")
    core = build_citewise(settings)
    assert isinstance(core.store, PostgresPaperStore) and isinstance(core.memory, PostgresConversations)
    assert not (tmp_path / "unused.db").exists()
    core.close()


def test_a_url_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        Settings(db_path=tmp_path / "x.db", database_url="mysql://x")


async def test_a_delivery_key_claimed_through_the_core_never_expires(postgres_url: str, db: PostgresDatabase,
                                                                     tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "unused.db", database_url=postgres_url, index_dir=tmp_path / "idx")
    core = build_citewise(settings)
    assert await core.claim_event("slack:request:1:abc") is True
    _age_claims(db, 3600)
    assert await core.claim_event("slack:request:1:abc") is False  # a replay, however late
    core.close()
