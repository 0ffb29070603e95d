"""Shared fixtures, defined once: the hand-made paper store and a core over it, the loopback
fakes (Slack, Discord, literature APIs), a store filled through the CLI.

Tests make their own data (tests/papers.py, tests/fixtures/); nothing here reads
../shared except `scifact_dir`, which skips with a reason when the data is absent.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.compose import build_citewise
from bot.conversations import SQLiteConversations
from bot.core import Citewise
from bot.settings import Settings
from fakes.discord_api import FakeDiscord
from fakes.literature_api import LiteratureAPI
from fakes.openai_api import FakeOpenAI
from fakes.postgres_server import PostgresServer, find_postgres_bin
from fakes.slack_api import FakeSlack
from knowledge.store import PaperStore
from tests.backends import Backend
from tests.fakes.clock import FakeClock
from tests.literature_helpers import populate
from tests.llm_helpers import llm_settings, written_core
from tests.papers import PAPERS, make_papers, write_jsonl

if TYPE_CHECKING:  # psycopg is optional: the PostgreSQL tests skip without it
    from knowledge.postgres import PostgresDatabase

__all__ = ["PAPERS", "make_papers", "write_jsonl"]  # for test modules that still import them from here

SCIFACT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"

@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No literature API is reachable here: tests that want one point Settings at a loopback fake."""
    monkeypatch.setenv("CITEWISE_OFFLINE", "1")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "citewise.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[PaperStore]:
    s = PaperStore(db_path)
    s.add_papers(make_papers())
    yield s
    s.close()


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(db_path=db_path)


@pytest.fixture
def core(settings: Settings, store: PaperStore) -> Iterator[Citewise]:
    c = build_citewise(settings, store=store)
    yield c


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A loopback Slack (Web API, response_url hooks, Socket Mode) recording every call."""
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A loopback Discord (REST + gateway) recording every call."""
    server = await FakeDiscord().start()
    yield server
    await server.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store file filled through the CLI with the hand-made papers."""
    from adapters.cli import main

    path = tmp_path / "store.db"
    assert main(["--db", str(path), "ingest", "--quiet", str(write_jsonl(tmp_path / "papers.jsonl", PAPERS))]) == 0
    return path


@pytest.fixture
def literature_api() -> Iterator[LiteratureAPI]:
    """OpenAlex, arXiv and Crossref fakes on loopback, holding a few works (see tests/literature_helpers)."""
    with LiteratureAPI() as fake:
        yield populate(fake)


@pytest.fixture
def scifact_dir() -> Path:
    if not (SCIFACT / "corpus.jsonl").is_file():
        pytest.skip(f"SciFact data not found at {SCIFACT}")
    return SCIFACT


# ── the LLM tests: a fake model's clock and server, a core that writes (tests/test_llm*.py) ──
@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def llm(clock: FakeClock) -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(clock) as server:
        yield server


@pytest.fixture
async def core_llm(db_path: Path, store: PaperStore, llm: FakeOpenAI, clock: FakeClock) -> AsyncIterator[Citewise]:
    core = written_core(llm_settings(db_path, llm), store, clock)
    yield core
    assert core.writer is not None
    await core.writer.aclose()


# ── PostgreSQL: one real server for the session, a fresh database per test ──────────────
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster in a temp dir on a free loopback port (skips only without the binaries)."""
    pytest.importorskip("psycopg", reason="pip install -e '.[postgres]'")
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    with PostgresServer(bin_dir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """An empty database of its own for this test."""
    return postgres_server.create_database(f"t{next(_DATABASES)}")


_DATABASES = itertools.count(1)


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[PostgresDatabase]:
    """A pool over this test's own database, the paper tables migrated."""
    from knowledge.postgres import PostgresDatabase

    database = PostgresDatabase(postgres_url, pool_size=8)
    yield database
    database.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The same store and conversations behaviour, run once on each backend."""
    if request.param == "sqlite":
        sqlite = PaperStore(tmp_path / "citewise.db")
        yield Backend("sqlite", sqlite, SQLiteConversations(sqlite.db), Settings(db_path=tmp_path / "citewise.db"),
                      lambda: SQLiteConversations(sqlite.db))
        sqlite.close()
        return
    from bot.postgres_conversations import PostgresConversations
    from knowledge.postgres import PostgresDatabase, PostgresPaperStore

    url = request.getfixturevalue("postgres_url")
    db = PostgresDatabase(url, pool_size=4)
    pg = PostgresPaperStore(db, tmp_path / "pg-index")
    settings = Settings(db_path=tmp_path / "unused.db", database_url=url, index_dir=tmp_path / "idx")
    yield Backend("postgres", pg, PostgresConversations(db), settings, lambda: PostgresConversations(db))
    pg.close()
