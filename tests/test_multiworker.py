"""Several Citewise worker processes over one PostgreSQL, behind a round-robin proxy, serving two
Slack workspaces through the loopback fake: every event delivered two or three times (retries and
the app_mention/message twin) lands on different workers and is answered exactly once, no answer
cites the other workspace's papers, and a worker SIGKILLed mid-answer loses no question."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from fakes import slack_payloads as p
from fakes.round_robin import RoundRobinProxy
from fakes.slack_api import BOT_USER, FakeSlack
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
WORKERS = 3
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
QUESTIONS = {
    TEAM_A: ["does vitamin D prevent fractures?", "does aspirin prevent stroke?", "does sleep loss hurt memory?",
             "can CRISPR treat sickle cell disease?", "does salt raise blood pressure?", "does stress shorten telomeres?",
             "is calcium with vitamin D good for hip fractures?", "does low-dose aspirin reduce stroke risk?",
             "what does sleep deprivation do to memory?", "does a low salt diet lower blood pressure?"],
    TEAM_B: ["are alpine glaciers retreating?", "do marine heatwaves bleach coral?", "do neonicotinoids harm bees?",
             "does aspirin prevent stroke?", "does vitamin D prevent fractures?", "how fast are glaciers melting?",
             "what causes coral bleaching?", "are wild bees declining because of pesticides?",
             "does salt raise blood pressure?", "did glacier retreat accelerate after 1980?"],
}


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


async def test_many_workers_answer_every_question_once_and_keep_teams_apart(
    workers: list[Worker], slack: FakeSlack, hosted_db: tuple[str, str],
) -> None:
    questions = [(team, text, p.mention(text)) for team in QUESTIONS for text in QUESTIONS[team]]
    for team, _, payload in questions:
        _in_team(payload, team)
    victim_ts = questions[0][2]["event"]["ts"]
    reached, release = slack.hold("chat.postMessage", lambda call: call.args.get("thread_ts") == victim_ts)
    async with RoundRobinProxy([w.url for w in workers]) as proxy, aiohttp.ClientSession() as session:
        # The first question reaches one worker, which is killed while it answers.
        assert await _deliver(session, proxy, questions[0][2], skew=0) == 200
        await asyncio.wait_for(reached.wait(), 10)
        victim = workers[proxy.routed[-1]].proc
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=5)
        killed_at = time.monotonic()
        release.set()
        # Every question, two or three times: the event, its app_mention/message twin, a retry.
        deliveries = []
        for n, (team, _text, payload) in enumerate(questions):
            twin = _in_team(p.message(payload["event"]["text"], ts=payload["event"]["ts"]), team)
            deliveries.append(_deliver(session, proxy, twin, skew=1))
            if n:
                deliveries.append(_deliver(session, proxy, payload, skew=2))
            if n % 2:
                deliveries.append(_deliver(session, proxy, payload, skew=3, retry=1))
        statuses = await asyncio.gather(*deliveries)
        assert set(statuses) == {200}, (statuses, proxy.errors[:5], proxy.routed)
        # Slack retries the killed worker's event; its claim has expired by then.
        await asyncio.sleep(max(0.0, CLAIM_TIMEOUT + 0.3 - (time.monotonic() - killed_at)))
        assert await _deliver(session, proxy, questions[0][2], skew=4, retry=2) == 200
        updates = await slack.wait_for("chat.update", len(questions), timeout=60)
    await asyncio.sleep(0.5)  # nothing more trickles in
    placeholder_of: dict[str, int] = {}
    for call in slack.calls_to("chat.postMessage"):
        placeholder_of[call.args.get("thread_ts")] = placeholder_of.get(call.args.get("thread_ts"), 0) + 1
    assert len(slack.calls_to("chat.update")) == len(questions)  # 0 duplicates
    assert len(updates) == len(questions)
    # 0 lost: every question's thread got a placeholder (the victim's twice: dead worker, then survivor).
    assert {payload["event"]["ts"] for _, _, payload in questions} <= set(placeholder_of)
    assert placeholder_of[victim_ts] == 2 and all(v == 1 for k, v in placeholder_of.items() if k != victim_ts)
    # Each answer went out with its workspace's token and cites only its workspace's papers.
    url, _ = hosted_db
    import psycopg

    with psycopg.connect(url) as conn:
        papers = {(t, i) for t, i in conn.execute("SELECT team, id FROM papers")}
        answers = conn.execute("SELECT team, body FROM answers").fetchall()
    assert len(answers) == len(questions)
    cross = [(team, s["id"]) for team, body in answers for s in json.loads(body)["sources"] if (team, s["id"]) not in papers]
    assert cross == []
    teams = {team for team, _ in answers}
    assert teams == {TEAM_A, TEAM_B}
    tokens = {c.headers["Authorization"] for c in slack.calls_to("chat.update")}
    assert tokens == {f"Bearer xoxb-{TEAM_A}", f"Bearer xoxb-{TEAM_B}"}
