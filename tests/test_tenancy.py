"""Each team sees only its own papers, answers and votes (PostgreSQL, many teams in one database)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.compose import build_citewise, build_paper_service
from bot.core import Citewise
from bot.models import AnswerStatus, Question
from bot.settings import Settings
from knowledge.dense import StoredVector
from knowledge.index import WeightedTerm
from knowledge.papers import Paper
from knowledge.tenancy import current_team, team_scope
from tests.papers import make_papers

pytest.importorskip("psycopg")

from bot.postgres_conversations import PostgresConversations
from knowledge.postgres import PostgresDatabase, PostgresPaperStore


@pytest.fixture
def core(postgres_url: str, tmp_path: Path) -> Iterator[Citewise]:
    """One core, as one worker serves many teams: team A holds the hand-made papers, team B one of its own."""
    db = PostgresDatabase(postgres_url, pool_size=4)
    store = PostgresPaperStore(db, tmp_path / "index")
    with team_scope("TA"):
        store.add_papers(make_papers())
    with team_scope("TB"):
        store.add_papers([Paper(id="b-only", title="Glacier retreat in the Alps", sentences=["Glaciers retreat."])])
    settings = Settings(db_path=tmp_path / "unused.db", database_url=postgres_url)
    yield build_citewise(settings, store=store, conversations=PostgresConversations(db))
    store.close()


def test_work_outside_any_scope_is_the_default_team() -> None:
    assert current_team() == ""
    with team_scope("T1"):
        assert current_team() == "T1"
    assert current_team() == ""


def test_a_team_searches_and_reads_only_its_own_papers(core: Citewise) -> None:
    store = core.store
    with team_scope("TB"):
        assert store.count() == 1 and store.index.size == 1
        assert store.search([WeightedTerm("vitamin"), WeightedTerm("fractures")], k=5) == []
        assert store.get("vitd-rct") is None and store.get_many(["vitd-rct", "b-only"]).keys() == {"b-only"}
    with team_scope("TA"):
        assert store.count() == 12 and store.get("b-only") is None


async def test_a_question_never_cites_another_teams_papers(core: Citewise) -> None:
    with team_scope("TA"):
        answered = await core.answer(Question(text="Does vitamin D prevent fractures?", platform="slack"))
    assert answered.status is AnswerStatus.answered and {s.id for s in answered.sources} & {"vitd-rct", "vitd-meta"}
    with team_scope("TB"):
        other = await core.answer(Question(text="Does vitamin D prevent fractures?", platform="slack"))
        assert not {s.id for s in other.sources} - {"b-only"}
        # Show sources with team A's answer id, pressed in team B: nothing is revealed, no vote lands.
        assert await core.stored_answer(answered.id) is None
        await core.record_feedback(answered.id, "U-B", "down", "slack")
    with team_scope("TA"):
        assert await core.stored_answer(answered.id) == answered
        assert core.memory.feedback(answered.id) == {}
    # `citewise stats` for a team counts that team's papers, conversations and answers only.
    for team, papers in (("TA", 12), ("TB", 1)):
        with team_scope(team):
            assert core.memory.stats() == {"conversations": 1, "answers": 1}
            assert core.store.stats()["papers"] == papers and core.store.stats()["indexed"] == papers


async def test_paper_add_in_one_team_adds_to_that_team_only(core: Citewise, tmp_path: Path) -> None:
    service = build_paper_service(core)
    bib = b"@article{zebra, title={Zebrafish fin regeneration after amputation}, year={2020}, author={Ng, A}}"
    with team_scope("TB"):
        reply = await service.add_file("refs.bib", bib, "slack:U-B")
        added = reply.added[0].id
        assert core.store.get(added) is not None and core.store.count() == 2
        assert core.store.search([WeightedTerm("zebrafish")], k=3)[0][0].id == added
    with team_scope("TA"):
        assert core.store.get(added) is None and core.store.count() == 12
        assert core.store.search([WeightedTerm("zebrafish")], k=3) == []


def test_two_teams_may_use_the_same_paper_ids_and_conversation_places(core: Citewise) -> None:
    memory = core.memory
    for team in ("TA", "TB"):
        with team_scope(team):
            core.store.add_papers([Paper(id="shared-id", title=f"Paper of {team}", sentences=[f"{team} text."])])
    with team_scope("TA"):
        assert core.store.get("shared-id").title == "Paper of TA"
        conversation_a = memory.open("slack:T:C:1.1")
        assert memory.claim_event("slack:post:C:1.1")
    with team_scope("TB"):
        assert core.store.get("shared-id").title == "Paper of TB"
        assert memory.open("slack:T:C:1.1") != conversation_a and not memory.is_open("slack:T:C:1.1")
        assert memory.claim_event("slack:post:C:1.1")


def test_the_cli_ingests_into_the_team_it_is_given(postgres_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.cli import main
    from tests.papers import PAPERS, write_jsonl

    monkeypatch.setenv("CITEWISE_DATABASE_URL", postgres_url)
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "cli-index"))
    papers = write_jsonl(tmp_path / "papers.jsonl", PAPERS)
    assert main(["--team", "TCLI", "ingest", "--quiet", str(papers)]) == 0
    db = PostgresDatabase(postgres_url, pool_size=1)
    store = PostgresPaperStore(db, tmp_path / "check-index")
    with team_scope("TCLI"):
        assert store.count() == len(PAPERS)
    assert store.count() == 0  # the default team got nothing
    store.close()


async def test_a_discord_guild_is_answered_from_its_own_papers(postgres_url: str, tmp_path: Path) -> None:
    """The guild of a message is its team: a mention in the guild finds the papers stored for that guild only."""
    from fakes.discord_api import FakeDiscord
    from tests.discord_helpers import discord_settings, run_adapter, stop_adapter

    fake = await FakeDiscord().start()
    db = PostgresDatabase(postgres_url, pool_size=4)
    store = PostgresPaperStore(db, tmp_path / "index")
    with team_scope(str(fake.guild_id)):
        store.add_papers(make_papers())
    settings = discord_settings(tmp_path / "unused.db", fake, database_url=postgres_url)
    core = build_citewise(settings, store=store, conversations=PostgresConversations(db))
    adapter, task = await run_adapter(fake, settings, core)
    try:
        mark = len(fake.calls)
        await fake.post_message(f"<@{fake.bot_user_id}> does aspirin prevent stroke?", mention_bot=True)
        reply = await fake.wait_for_call("POST", rf"/channels/{fake.channel_id}/messages", after=mark)
        assert "[1]" in reply.json["content"]  # type: ignore[index]  # cited: the guild's papers were searched
        assert store.count() == 0  # outside the guild (the default team) there is nothing to cite
    finally:
        await stop_adapter(adapter, task, fake)
        await fake.close()
        store.close()


# ── one team's first index build never holds up another team's searches ───────────────────
@dataclass
class _Held:
    """A worker that has not searched yet, over teams TA and TB, whose first TA build waits for `release`."""

    reader: PostgresPaperStore
    entered: threading.Event = field(default_factory=threading.Event)  # set once TA's build is waiting
    release: threading.Event = field(default_factory=threading.Event)
    built: list[str] = field(default_factory=list)  # the team of every index source made

    def wait_if_held(self, team: str) -> None:
        if team == "TA" and not self.release.is_set():
            self.entered.set()
            assert self.release.wait(30), "the held build was never released"

    def start(self, pool: ThreadPoolExecutor) -> Future[list[str]]:
        """Team A's first search, in the pool, once its build is waiting."""
        future = pool.submit(_rank_in, self.reader, "TA", "cardiac arrest")
        assert self.entered.wait(30), "team A's build never started"
        return future


@pytest.fixture(params=["bm25", "dense"])
def held(request: pytest.FixtureRequest, postgres_url: str, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[_Held]:
    """Team A's first BM25 or dense build held; the papers are written before the hold."""
    import knowledge.postgres.store as pg_store
    from tests.dense_helpers import PAPERS, FakeEmbedder

    db = PostgresDatabase(postgres_url, pool_size=8)
    writer = PostgresPaperStore(db, tmp_path / "writer", owns_database=False)
    for team, paper in (("TA", PAPERS[0]), ("TB", PAPERS[2])):
        with team_scope(team):
            writer.add_papers([paper])
    writer.close()
    state = _Held(PostgresPaperStore(db, tmp_path / "reader", owns_database=False))
    if request.param == "bm25":
        class HeldFeed(pg_store.TeamFeed):
            def __init__(self, db: PostgresDatabase, team: str, meta_path: Path) -> None:
                state.built.append(team)
                super().__init__(db, team, meta_path)
                self._of = team

            def latest_version(self) -> int:
                state.wait_if_held(self._of)
                return super().latest_version()

        monkeypatch.setattr(pg_store, "TeamFeed", HeldFeed)
    else:
        class HeldVectors(pg_store.TeamVectors):
            def __init__(self, db: PostgresDatabase, team: str) -> None:
                state.built.append(team)
                super().__init__(db, team)
                self._of = team

            def load(self, model: str) -> tuple[int, list[StoredVector]]:
                state.wait_if_held(self._of)
                return super().load(model)

        monkeypatch.setattr(pg_store, "TeamVectors", HeldVectors)
        state.reader.attach_dense(FakeEmbedder(), sync=False)  # the default team's; TA's and TB's on first use
    yield state
    state.release.set()
    state.reader.close()
    db.close()


def _rank_in(store: PostgresPaperStore, team: str, text: str) -> list[str]:
    with team_scope(team):
        return [pid for pid, _ in store.rank([WeightedTerm(w) for w in text.split()], 3, text=text)]


def test_a_teams_first_index_build_does_not_hold_up_another_team(held: _Held) -> None:
    with ThreadPoolExecutor(2) as pool:
        team_a = held.start(pool)
        try:
            assert pool.submit(_rank_in, held.reader, "TB", "sleep memory").result(timeout=30) == ["sleep"]
            assert not team_a.done()  # team A's build is still waiting
        finally:
            held.release.set()
        assert team_a.result(timeout=30) == ["cardio"]


def test_two_threads_asking_for_a_new_team_build_its_index_once(held: _Held) -> None:
    with ThreadPoolExecutor(2) as pool:
        first = held.start(pool)
        second = pool.submit(_rank_in, held.reader, "TA", "cardiac arrest")
        held.release.set()
        assert first.result(timeout=30) == second.result(timeout=30) == ["cardio"]
    assert held.built.count("TA") == 1
