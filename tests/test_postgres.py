"""What only PostgreSQL promises: claims that hold across workers and pass on when a worker dies,
an index per worker that catches up with papers another worker added, the backend chosen by URL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.compose import build_citewise
from bot.models import InboundMessage, Question
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
    """Pretend every claim was taken, and every worker last heard from, `seconds` ago (no waiting)."""
    with db.connection() as conn:
        conn.execute("UPDATE processed_events SET claimed_at = now() - make_interval(secs => %s)", (seconds,))
        conn.execute("UPDATE bot_workers SET seen_at = now() - make_interval(secs => %s)", (seconds,))


def test_of_many_workers_claiming_one_event_exactly_one_wins(db: PostgresDatabase) -> None:
    memories = [PostgresConversations(db) for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(lambda n: memories[n % 4].claim_event("slack:event:Ev1"), range(24)))
    assert wins.count(True) == 1


def test_a_worker_silent_past_the_timeout_loses_its_claims_and_a_heartbeat_keeps_them(db: PostgresDatabase) -> None:
    holder, other = PostgresConversations(db, claim_timeout=60), PostgresConversations(db, claim_timeout=60)
    assert holder.claim_event("slack:post:C1:1.1")
    assert not other.claim_event("slack:post:C1:1.1")  # a twin or a retry while its worker lives
    _age_claims(db, 61)
    holder.heartbeat()  # still alive, only slow: the claim stays its own
    assert not other.claim_event("slack:post:C1:1.1")
    _age_claims(db, 61)  # now silent for longer than the timeout: it died
    assert other.claim_event("slack:post:C1:1.1")


def test_a_finished_claim_never_expires(db: PostgresDatabase) -> None:
    memory = PostgresConversations(db, claim_timeout=60)
    assert memory.claim_event("slack:post:C1:2.2")
    memory.finish_claims(["slack:post:C1:2.2"])
    _age_claims(db, 3600)
    assert not PostgresConversations(db, claim_timeout=60).claim_event("slack:post:C1:2.2")


def test_of_many_keepers_racing_for_one_abandoned_question_exactly_one_takes_it(db: PostgresDatabase) -> None:
    holder = PostgresConversations(db)
    assert holder.claim_event("slack:post:C1:5.5")
    holder.hold_claim("slack:post:C1:5.5", Question(text="q?", platform="slack", conversation_id="c5"), "{}")
    holder.retire()
    keepers = [PostgresConversations(db) for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda n: keepers[n % 4].take_abandoned(["slack"]), range(16)))
    assert sum(len(t) for t in taken) == 1


async def test_the_router_holds_a_question_it_can_resume_and_finishes_everything_else(
    db: PostgresDatabase,
) -> None:
    memory = PostgresConversations(db, claim_timeout=60)
    router = Router(memory)
    message = InboundMessage(platform="slack", text="does aspirin prevent stroke?", user="U1", team="T1",
                             conversation_key="slack:T1:C1:3.3", mentioned=True, message_id="C1:3.3", event_id="Ev3")
    ask = await router.route(message, reply_to='{"channel": "C1", "thread": "3.3"}')
    assert isinstance(ask, Ask) and ask.question.claim == "slack:post:C1:3.3"
    own = message.model_copy(update={"event_id": "Ev4", "message_id": "C1:4.4", "from_self": True})
    assert isinstance(await router.route(own), Ignore)
    unresumable = message.model_copy(update={"event_id": "Ev5", "message_id": "C1:5.5"})
    assert isinstance(await router.route(unresumable), Ask)  # no reply_to: nothing could resume it
    memory.retire()
    _age_claims(db, 61)
    other = PostgresConversations(db, claim_timeout=60)
    assert not other.claim_event("slack:post:C1:5.5") and not other.claim_event("slack:event:Ev5")  # finished
    assert not other.claim_event("slack:event:Ev3")  # a delivery's own key is finished once it is routed
    [held] = other.take_abandoned(["slack"])
    assert held.key == "slack:post:C1:3.3" and held.question.text == message.text
    resumed = await Router(other).resume(held)
    assert resumed.question.id == ask.question.id and resumed.question.claim == held.key


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
