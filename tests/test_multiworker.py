"""Four Citewise worker processes over one PostgreSQL, behind a round-robin proxy, serving two
Slack workspaces through the loopback fake: 50 questions, every event delivered two or three times
(retries and the app_mention/message twin) to different workers, are answered exactly once; no
answer cites the other workspace's papers; and two workers SIGKILLed mid-answer while the rest are
being answered — one before its placeholder came back, one after recording its answer but before
Slack showed it — lose no question: the surviving workers' claim keepers finish what they held in
the placeholders they left, with no redelivery needed."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from fakes import slack_payloads as p
from fakes.round_robin import RoundRobinProxy
from fakes.slack_api import BOT_USER, Call, FakeSlack
from fakes.workers import Worker, start_workers, stop_workers
from knowledge.papers import Paper
from knowledge.tenancy import team_scope
from tests.papers import make_papers

pytest.importorskip("psycopg")
pytest.importorskip("cryptography")

from slack_sdk.oauth.installation_store import Installation

from adapters.slack.oauth import VaultInstallationStore
from bot.installations import InstallationVault, new_secret_key
from knowledge.postgres import PostgresDatabase, PostgresPaperStore

ROOT = Path(__file__).resolve().parents[1]
SECRET = "multi-worker-signing-secret"
WORKERS = 4
CLAIM_TIMEOUT = 2.0
TEAM_A, TEAM_B = "TALPHA", "TBRAVO"
PAPERS_B = [
    Paper(id="b-glacier", title="Glacier retreat in the European Alps since 1850",
          sentences=["Alpine glaciers lost about half their volume since 1850.", "Retreat accelerated after 1980."]),
    Paper(id="b-coral", title="Coral bleaching and marine heatwaves",
          sentences=["Marine heatwaves caused mass coral bleaching on the Great Barrier Reef."]),
    Paper(id="b-bees", title="Neonicotinoid pesticides and wild bee decline",
          sentences=["Neonicotinoid exposure reduced wild bee colony growth in field trials."]),
]
_PHRASINGS = ("{}?", "is there evidence that {}?", "what do the papers say on whether {}?",
              "do studies show that {}?", "is it true that {}?")
_CLAIMS = {
    TEAM_A: ("vitamin D prevents fractures", "aspirin prevents stroke", "sleep loss hurts memory",
             "CRISPR can treat sickle cell disease", "salt raises blood pressure"),
    TEAM_B: ("alpine glaciers are retreating", "marine heatwaves bleach coral", "neonicotinoids harm wild bees",
             "aspirin prevents stroke", "glacier retreat accelerated after 1980"),
}
# 25 questions per workspace; team B also asks about things only team A's papers cover.
QUESTIONS = {team: [form.format(claim) for claim in claims for form in _PHRASINGS] for team, claims in _CLAIMS.items()}


def _in_team(payload: dict, team: str) -> dict:
    payload["team_id"] = team
    payload["authorizations"][0]["team_id"] = team
    payload["event"]["team"] = team
    return payload


@pytest.fixture
def hosted_db(postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The shared database: both workspaces' papers and installations, seeded before the workers start."""
    key = new_secret_key()
    db = PostgresDatabase(postgres_url, pool_size=2)
    store = PostgresPaperStore(db, tmp_path / "seed-index", owns_database=False)
    with team_scope(TEAM_A):
        store.add_papers(make_papers())
    with team_scope(TEAM_B):
        store.add_papers(PAPERS_B)
    installations = VaultInstallationStore(InstallationVault(db, SecretStr(key)))
    for team in (TEAM_A, TEAM_B):
        asyncio.run(installations.async_save(Installation(
            app_id="ACITEWISE", team_id=team, bot_token=f"xoxb-{team}", bot_id="BCITEWISE", bot_user_id=BOT_USER,
            bot_scopes=["chat:write"], user_id=f"U-{team}", installed_at=time.time())))
    store.close()
    yield postgres_url, key
    db.close()


@pytest.fixture
async def workers(hosted_db: tuple[str, str], slack: FakeSlack, tmp_path: Path) -> AsyncIterator[list[Worker]]:
    """WORKERS `citewise run` processes in Slack HTTP mode (many workspaces), each on its own port."""
    url, key = hosted_db
    running = await start_workers(WORKERS, {
        "CITEWISE_DATABASE_URL": url, "CITEWISE_SECRET_KEY": key, "CITEWISE_INDEX_DIR": str(tmp_path / "idx"),
        "CITEWISE_CLAIM_TIMEOUT": str(CLAIM_TIMEOUT), "CITEWISE_OFFLINE": "1", "CITEWISE_DATABASE_POOL": "4",
        "SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "client-secret", "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url}, tmp_path)
    yield running
    stop_workers(running)


async def _deliver(session: aiohttp.ClientSession, proxy: RoundRobinProxy, payload: dict, *, skew: int,
                   retry: int | None = None) -> int:
    """One delivery, freshly signed as Slack signs each attempt (timestamps differ by `skew` seconds)."""
    body = json.dumps(payload)
    headers = p.signed_headers(body, SECRET, timestamp=int(time.time()) - skew, content_type="application/json")
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    async with session.post(f"{proxy.url}/slack/events", data=body.encode(), headers=headers) as resp:
        return resp.status


def _answered(text: str) -> bool:
    return bool(text) and not text.startswith("Searching")


def _shows_placeholder_of(slack: FakeSlack, thread_ts: str) -> Callable[[Call], bool]:
    """Matches the chat.update that replaces the placeholder posted in `thread_ts` (the answer shown)."""
    def matches(call: Call) -> bool:
        return any(c.method == "chat.postMessage" and c.args.get("thread_ts") == thread_ts
                   and (c.result or {}).get("ts") == call.args.get("ts") for c in slack.calls)
    return matches


async def test_many_workers_answer_every_question_once_and_keep_teams_apart(
    workers: list[Worker], slack: FakeSlack, hosted_db: tuple[str, str],
) -> None:
    questions = [(team, text, p.mention(text)) for team in QUESTIONS for text in QUESTIONS[team]]
    assert len(questions) == 50
    for team, _, payload in questions:
        _in_team(payload, team)
    early_ts, late_ts = questions[0][2]["event"]["ts"], questions[1][2]["event"]["ts"]
    # One worker dies before its placeholder's ts comes back; another after recording its answer, while showing it.
    early_reached, early_release = slack.hold("chat.postMessage", lambda call: call.args.get("thread_ts") == early_ts)
    late_reached, late_release = slack.hold("chat.update", _shows_placeholder_of(slack, late_ts), lands=False)
    async with RoundRobinProxy([w.url for w in workers]) as proxy, aiohttp.ClientSession() as session:
        assert await _deliver(session, proxy, questions[0][2], skew=0) == 200
        await asyncio.wait_for(early_reached.wait(), 10)
        early_victim = proxy.routed[-1]
        assert await _deliver(session, proxy, questions[1][2], skew=0) == 200
        await asyncio.wait_for(late_reached.wait(), 20)
        late_victim = proxy.routed[-1]
        assert early_victim != late_victim
        # Every question, two or three times: its app_mention/message twin, the event again, a Slack retry,
        # to all four workers; the two victims die while the rest are being answered.
        deliveries = []
        for n, (team, _text, payload) in enumerate(questions):
            twin = _in_team(p.message(payload["event"]["text"], ts=payload["event"]["ts"]), team)
            deliveries.append(_deliver(session, proxy, twin, skew=1))
            if n > 1:
                deliveries.append(_deliver(session, proxy, payload, skew=2))
            if n % 2 or n < 2:
                deliveries.append(_deliver(session, proxy, payload, skew=3, retry=1))
        statuses = await asyncio.gather(*deliveries)
        assert set(statuses) == {200}, (statuses, proxy.errors[:5], proxy.routed)
        assert {early_victim, late_victim} < set(proxy.routed[2:])  # the victims took other questions too
        for victim in (early_victim, late_victim):
            workers[victim].proc.send_signal(signal.SIGKILL)
            workers[victim].proc.wait(timeout=5)
        early_release.set()
        late_release.set()
        # Nothing is delivered again: the survivors' claim keepers finish the victims' questions themselves.
        deadline = time.monotonic() + 60
        while True:
            threads = slack.thread_messages()
            pending = [q["event"]["ts"] for _, _, q in questions
                       if not any(_answered(t) for t in threads.get(q["event"]["ts"], {}).values())]
            if not pending or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert pending == []
    await asyncio.sleep(0.5)  # nothing more trickles in
    threads = slack.thread_messages()
    # Exactly one message per question's thread — its answer, in the placeholder (no stale "Searching…", no twin).
    for _, text, payload in questions:
        shown = threads[payload["event"]["ts"]]
        assert len(shown) == 1 and all(_answered(t) for t in shown.values()), (text, shown)
    survivors = [w for n, w in enumerate(workers) if n not in (early_victim, late_victim)]
    resumed = sum(w.log.read_text().count("resuming question=") for w in survivors)
    assert resumed >= 2  # the two held questions, and whatever else the victims were answering
    # Each answer went out with its workspace's token and cites only its workspace's papers.
    url, _ = hosted_db
    import psycopg

    with psycopg.connect(url) as conn:
        papers = {(t, i) for t, i in conn.execute("SELECT team, id FROM papers")}
        answers = conn.execute("SELECT team, body FROM answers").fetchall()
        turns = conn.execute("SELECT COUNT(*) FROM turns").fetchone()
    assert len(answers) == len(questions) and turns == (len(questions),)  # the late victim's answer is shown, not redone
    cross = [(team, s["id"]) for team, body in answers for s in json.loads(body)["sources"] if (team, s["id"]) not in papers]
    assert cross == []
    assert {team for team, _ in answers} == {TEAM_A, TEAM_B}
    tokens = {c.headers["Authorization"] for c in slack.calls_to("chat.update")}
    assert tokens == {f"Bearer xoxb-{TEAM_A}", f"Bearer xoxb-{TEAM_B}"}
