"""Many workers over one PostgreSQL: answers/s with 1, 2, 4 workers, index catch-up lag,
single-worker answer latency on PostgreSQL against SQLite, and how long a question waits when
its worker is SIGKILLed mid-answer (until a surviving worker's claim keeper has answered it).

Real worker processes (`citewise run`, Slack HTTP mode for many workspaces) behind the
loopback round-robin proxy, the loopback Slack fake, a throw-away PostgreSQL cluster;
synthetic papers recombined from SciFact sentences (bench/synth.py) and SciFact claims
as questions. Prints a Markdown table and writes JSON.

    python3 bench/pg_workers.py --papers 20000 --questions 60 --workers 1 2 4 --recovery 5 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.slack.oauth import VaultInstallationStore  # noqa: E402
from bench.synth import queries, synthetic_records  # noqa: E402
from bot.compose import build_citewise  # noqa: E402
from bot.installations import InstallationVault, new_secret_key  # noqa: E402
from bot.models import Question  # noqa: E402
from bot.postgres_conversations import PostgresConversations  # noqa: E402
from bot.settings import Settings  # noqa: E402
from fakes import slack_payloads as p  # noqa: E402
from fakes.postgres_server import PostgresServer, find_postgres_bin  # noqa: E402
from fakes.round_robin import RoundRobinProxy  # noqa: E402
from fakes.slack_api import BOT_USER, FakeSlack  # noqa: E402
from fakes.workers import start_workers, stop_workers  # noqa: E402
from knowledge.papers import Paper  # noqa: E402
from knowledge.postgres import PostgresDatabase, PostgresPaperStore  # noqa: E402
from knowledge.store import SQLitePaperStore  # noqa: E402
from knowledge.tenancy import team_scope  # noqa: E402

TEAM = "TBENCH"
SECRET = "bench-signing-secret"


def _papers(count: int, *, seed: int = 1, prefix: str = "") -> list[Paper]:
    return [Paper.from_abstract(**{**r, "id": prefix + str(r["id"])})  # type: ignore[arg-type]
            for r in synthetic_records(count, seed=seed)]


def _seed(db: PostgresDatabase, papers: list[Paper], root: Path, key: str) -> float:
    store = PostgresPaperStore(db, root / "seed-index", owns_database=False)
    started = time.perf_counter()
    with team_scope(TEAM):
        for start in range(0, len(papers), 5000):
            store.add_papers(papers[start:start + 5000], index=False)
    took = time.perf_counter() - started
    from slack_sdk.oauth.installation_store import Installation

    vault = VaultInstallationStore(InstallationVault(db, SecretStr(key)))
    asyncio.run(vault.async_save(Installation(app_id="ACITEWISE", team_id=TEAM, bot_token=f"xoxb-{TEAM}",
                                              bot_id="BCITEWISE", bot_user_id=BOT_USER, user_id="UADMIN",
                                              installed_at=time.time())))
    return took


def _worker_env(url: str, key: str, workdir: Path, slack: FakeSlack, **extra: str) -> dict[str, str]:
    """Settings for workers in Slack HTTP mode for many workspaces over the bench's database and fake."""
    return {"CITEWISE_DATABASE_URL": url, "CITEWISE_SECRET_KEY": key, "CITEWISE_INDEX_DIR": str(workdir / "idx"),
            "CITEWISE_OFFLINE": "1", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s",
            "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url, **extra}


async def _throughput(url: str, key: str, workers: int, questions: list[str], root: Path,
                      concurrency: int) -> dict[str, float]:
    """Answers per second with `workers` processes, all questions sent at once, each once."""
    workdir = Path(tempfile.mkdtemp(dir=root))
    async with FakeSlack() as slack:
        started = time.perf_counter()
        running = await start_workers(workers, _worker_env(url, key, workdir, slack,
                                                           CITEWISE_MAX_CONCURRENT=str(concurrency)), workdir)
        startup = time.perf_counter() - started
        try:
            async with RoundRobinProxy([w.url for w in running]) as proxy, aiohttp.ClientSession() as session:
                # Warm each worker's index and caches with one question apiece (not timed).
                await _send(session, proxy, questions[:workers], offset=10_000)
                await slack.wait_for("chat.update", workers, timeout=120)
                began = time.perf_counter()
                await _send(session, proxy, questions, offset=0)
                await slack.wait_for("chat.update", workers + len(questions), timeout=600)
                elapsed = time.perf_counter() - began
        finally:
            stop_workers(running)
    return {"workers": workers, "answers_per_s": len(questions) / elapsed, "seconds": elapsed,
            "startup_s": startup}


async def _send(session: aiohttp.ClientSession, proxy: RoundRobinProxy, questions: list[str], *, offset: int) -> None:
    async def one(n: int, text: str) -> None:
        payload = p.mention(text, user=f"U{offset + n}", channel=f"C{offset + n}")
        payload["team_id"] = payload["event"]["team"] = payload["authorizations"][0]["team_id"] = TEAM
        body = json.dumps(payload)
        headers = p.signed_headers(body, SECRET, content_type="application/json")
        async with session.post(f"{proxy.url}/slack/events", data=body.encode(), headers=headers) as resp:
            assert resp.status == 200, resp.status

    await asyncio.gather(*(one(n, q) for n, q in enumerate(questions)))


async def _recovery(url: str, key: str, question: str, root: Path, claim_timeout: float) -> dict[str, float]:
    """Seconds from SIGKILLing the worker answering `question` until a survivor's answer is in its placeholder."""
    workdir = Path(tempfile.mkdtemp(dir=root))
    async with FakeSlack() as slack:
        running = await start_workers(2, _worker_env(url, key, workdir, slack,
                                                     CITEWISE_CLAIM_TIMEOUT=str(claim_timeout)), workdir)
        try:
            async with RoundRobinProxy([w.url for w in running]) as proxy, aiohttp.ClientSession() as session:
                await _send(session, proxy, [question, question], offset=20_000)  # warm both workers
                await slack.wait_for("chat.update", 2, timeout=120)
                reached, release = slack.hold("chat.postMessage", lambda c: c.args.get("channel") == "C30000")
                await _send(session, proxy, [question], offset=30_000)
                await asyncio.wait_for(reached.wait(), 60)
                victim = running[proxy.routed[-1]].proc
                victim.send_signal(signal.SIGKILL)
                killed = time.perf_counter()
                victim.wait(timeout=10)
                release.set()
                await slack.wait_for("chat.update", 3, timeout=claim_timeout * 3 + 60)
                waited = time.perf_counter() - killed
        finally:
            stop_workers(running)
    return {"claim_timeout_s": claim_timeout, "answered_after_kill_s": waited}


def _catch_up_lag(db: PostgresDatabase, root: Path, count: int) -> dict[str, float]:
    """How long after another worker commits `count` papers this worker's searches find them."""
    with team_scope(TEAM):
        reader = PostgresPaperStore(db, root / "reader-index", owns_database=False)
        writer = PostgresPaperStore(db, root / "writer-index", owns_database=False)
        reader.index.sync()
        fresh = _papers(count, seed=7, prefix="new-")
        marker = Paper(id="new-marker", title="Quokka zygomorphic pollination", sentences=["Quokkas pollinate."])
        writer.add_papers([*fresh, marker], index=False)
        committed = time.perf_counter()
        from knowledge.index import WeightedTerm

        while not reader.search([WeightedTerm("quokka")], k=1):  # a busy worker searches all the time
            time.sleep(0.01)
        lag = time.perf_counter() - committed
        started = time.perf_counter()
        reader.index.sync()
        return {"papers": count, "lag_s": lag, "index_sync_s": time.perf_counter() - started}


def _latency(core, questions: list[str]) -> dict[str, float]:  # a Citewise
    times = []
    for text in questions:
        started = time.perf_counter()
        core.answer_now(Question(text=text))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))]}


def _single_worker_latency(db: PostgresDatabase, url: str, papers: list[Paper], root: Path,
                           questions: list[str]) -> dict[str, dict[str, float]]:
    sqlite = SQLitePaperStore(root / "bench.db")
    sqlite.add_papers(papers)
    settings = Settings(db_path=root / "bench.db", offline=True)
    result = {"sqlite": _latency(build_citewise(settings, store=sqlite), questions)}
    sqlite.close()
    with team_scope(TEAM):
        pg = PostgresPaperStore(db, root / "latency-index", owns_database=False)
        core = build_citewise(Settings(db_path=root / "unused.db", database_url=url, offline=True), store=pg,
                              conversations=PostgresConversations(db))
        result["postgresql"] = _latency(core, questions)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--catch-up", type=int, default=1000)
    parser.add_argument("--max-concurrent", type=int, default=8, help="answers in flight per worker")
    parser.add_argument("--recovery", type=float, nargs="*", default=[5.0, 30.0], metavar="TIMEOUT",
                        help="claim timeouts (s) to time a SIGKILLed worker's question under")
    parser.add_argument("--out", type=Path, default=Path("/tmp/cw-bench/pg-workers.json"))
    args = parser.parse_args()
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="cw-pg-bench-"))
    questions = queries(args.questions)
    results: dict[str, object] = {"papers": args.papers, "questions": len(questions),
                                  "max_concurrent": args.max_concurrent}
    with PostgresServer(bin_dir) as server:
        db = PostgresDatabase(server.url, pool_size=4)
        PostgresConversations(db)
        key = new_secret_key()
        papers = _papers(args.papers)
        results["seed_s"] = _seed(db, papers, root, key)
        results["latency"] = _single_worker_latency(db, server.url, papers, root, questions)
        results["throughput"] = [asyncio.run(_throughput(server.url, key, n, questions, root,
                                                                   args.max_concurrent)) for n in args.workers]
        results["catch_up"] = _catch_up_lag(db, root, args.catch_up)
        results["recovery"] = [asyncio.run(_recovery(server.url, key, questions[0], root, timeout))
                               for timeout in args.recovery]
        db.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
