"""Chat benchmark: many concurrent Slack conversations through the real adapter.

Runs the real Bolt app in HTTP mode against the loopback fake Slack from the test
suite, in one process, and drives N conversations at once: a mention (plus the
`message` event Slack sends for the same post and a retry of the mention), then
follow-ups in each thread. It measures how fast every event is acknowledged and
how long each answer takes to land, and counts lost and duplicated replies. The
baseline, measured in the same run, is the core answering the same questions
directly (no Slack), so the ratio is the adapter's overhead under load.

    python3 bench/chat_slack.py --conversations 20 --runs 3

SciFact (../shared/data/scifact) supplies the papers and the opening questions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.slack import build_slack_adapter  # noqa: E402
from bot.compose import build_citewise  # noqa: E402
from bot.models import Question  # noqa: E402
from bot.settings import Settings  # noqa: E402
from evaluation import metrics  # noqa: E402
from fakes import slack_payloads as payloads  # noqa: E402
from fakes.slack_api import FakeSlack  # noqa: E402
from knowledge.ingest import ingest_file  # noqa: E402
from knowledge.store import PaperStore  # noqa: E402

SECRET = "bench-signing-secret"
FOLLOW_UPS = ("what are its limitations?", "any RCTs?")
DATA = ROOT.parent / "shared" / "data" / "scifact"


class TimedSlack(FakeSlack):
    """The fake Slack, also noting when each Web API call arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[float] = []

    async def _api(self, request):  # type: ignore[no-untyped-def]
        response = await super()._api(request)
        # No await between the parent's append and here, so the last call is this one.
        while len(self.arrived) < len(self.calls):
            self.arrived.append(time.perf_counter())
        return response


@dataclass
class RunFigures:
    acks: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    expected: int = 0
    delivered: int = 0
    duplicated: int = 0
    wall: float = 0.0


def percentile(values: list[float], q: float) -> float:
    """As the evaluation computes it; NaN rather than 0 when no answer arrived at all."""
    return metrics.percentile(values, q) if values else float("nan")


def opening_questions(claims: Path, count: int) -> list[str]:
    out = []
    with claims.open(encoding="utf-8") as handle:
        for line in handle:
            claim = json.loads(line)
            if claim.get("evidence"):
                out.append(claim["claim"])
            if len(out) == count:
                break
    return out


async def _post(session: aiohttp.ClientSession, url: str, body: dict, *, retry: int | None = None) -> float:
    text = json.dumps(body)
    headers = payloads.signed_headers(text, SECRET, content_type="application/json")
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    started = time.perf_counter()
    async with session.post(url, data=text.encode(), headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"event refused with HTTP {response.status}")
    return time.perf_counter() - started


def _answers_in(slack: TimedSlack, channel: str) -> list[tuple[float, dict]]:
    """Answer posts in one channel: placeholder updates that carry buttons, with arrival times."""
    found = []
    for arrived, call in zip(slack.arrived, slack.calls):
        if call.method == "chat.update" and call.args.get("channel") == channel:
            if any(b.get("type") == "actions" for b in call.blocks):
                found.append((arrived, call.args))
    return found


async def _conversation(session: aiohttp.ClientSession, url: str, slack: TimedSlack, index: int, opening: str,
                        figures: RunFigures, timeout: float) -> None:
    channel = f"CBENCH{index:03d}"
    mention = payloads.mention(opening, channel=channel)
    ts = mention["event"]["ts"]
    same_post = payloads.message(f"<@{payloads.BOT_USER}> {opening}", channel=channel, ts=ts)
    turns = [opening, *FOLLOW_UPS]
    for turn, text in enumerate(turns):
        sent = time.perf_counter()
        if turn == 0:
            figures.acks.append(await _post(session, url, mention))
            figures.acks.append(await _post(session, url, same_post))
            figures.acks.append(await _post(session, url, mention, retry=1))
        else:
            figures.acks.append(await _post(session, url, payloads.message(text, channel=channel, thread_ts=ts)))
        figures.expected += 1
        deadline = sent + timeout
        # the fake records calls without signalling them: poll, finely, until the answer or the deadline
        while len(_answers_in(slack, channel)) <= turn and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        answers = _answers_in(slack, channel)
        if len(answers) > turn:
            figures.answers.append(answers[turn][0] - sent)


async def one_run(db: Path, openings: list[str], timeout: float) -> RunFigures:
    figures = RunFigures()
    async with TimedSlack() as slack:
        settings = Settings(db_path=db, slack_bot_token="xoxb-bench", slack_app_token=None,
                            slack_signing_secret=SECRET, slack_api_url=slack.api_url, port=0,
                            offline=True)  # the store's own speed: no trips to OpenAlex
        core = build_citewise(settings)
        adapter = build_slack_adapter(settings, core, host="127.0.0.1")
        serving = asyncio.create_task(adapter.start())
        await asyncio.wait_for(adapter.ready.wait(), 10)
        url = f"http://127.0.0.1:{adapter.http.port}/slack/events"  # type: ignore[union-attr]
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(
                _conversation(session, url, slack, i, text, figures, timeout) for i, text in enumerate(openings)
            ))
        figures.wall = time.perf_counter() - started
        await asyncio.sleep(0.5)  # a late duplicate would show up here
        for i in range(len(openings)):
            got = len(_answers_in(slack, f"CBENCH{i:03d}"))
            figures.delivered += min(got, 1 + len(FOLLOW_UPS))
            figures.duplicated += max(0, got - (1 + len(FOLLOW_UPS)))
        await adapter.stop()
        await asyncio.wait_for(serving, 10)
        await core.aclose()
    return figures


def direct_baseline(db: Path, openings: list[str]) -> list[float]:
    """The same conversations answered by the core directly, one after another."""
    core = build_citewise(Settings(db_path=db, offline=True))
    times = []
    for i, opening in enumerate(openings):
        conversation = f"direct-{i}"
        for text in (opening, *FOLLOW_UPS):
            started = time.perf_counter()
            core.answer_now(Question(text=text, conversation_id=conversation))
            times.append(time.perf_counter() - started)
    core.close()
    return times


def conversation_parser(description: str) -> argparse.ArgumentParser:
    """The options every conversation bench takes: SciFact's files, how many conversations and runs."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl")
    parser.add_argument("--claims", type=Path, default=DATA / "claims_train.jsonl")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    return parser


def scifact_missing(args: argparse.Namespace) -> bool:
    if args.corpus.exists() and args.claims.exists():
        return False
    print(f"SciFact not found at {args.corpus.parent}; pass --corpus and --claims", file=sys.stderr)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = conversation_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before an answer counts as lost")
    args = parser.parse_args(argv)
    if scifact_missing(args):
        return 2
    import logging

    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="citewise-chat-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        store = PaperStore(db)
        ingest_file(store, args.corpus, progress=False)
        papers = store.count()
        store.close()
        openings = opening_questions(args.claims, args.conversations)
        runs = []
        for run in range(args.runs):
            # Each run uses fresh databases so no conversation or event id carries over.
            run_db = Path(tmp) / f"run{run}.db"
            _copy_store(db, run_db)
            figures = asyncio.run(one_run(run_db, openings, args.timeout))
            baseline = direct_baseline(_copy_store(db, Path(tmp) / f"direct{run}.db"), openings)
            runs.append((figures, baseline))
            print(f"run {run + 1}: ack p50 {percentile(figures.acks, 50) * 1000:.1f} ms, "
                  f"answer p50 {percentile(figures.answers, 50) * 1000:.0f} ms, "
                  f"{figures.delivered}/{figures.expected} delivered, {figures.duplicated} duplicated",
                  file=sys.stderr)
    report = _summary(runs, papers, args.conversations)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if report["lost"] == 0 and report["duplicated"] == 0 else 1


def _copy_store(source: Path, target: Path) -> Path:
    """A copy of the bench store (database and its search index) so each run starts clean."""
    import shutil

    store = PaperStore(source)
    store.close()
    shutil.copyfile(source, target)
    index = source.with_name(source.name + ".index")
    if index.exists():
        shutil.copytree(index, target.with_name(target.name + ".index"))
    return target


def _summary(runs: list[tuple[RunFigures, list[float]]], papers: int, conversations: int) -> dict:
    def median_of(pick) -> float:  # type: ignore[no-untyped-def]
        return round(statistics.median(pick(f, b) for f, b in runs) * 1000, 2)

    answer_p50 = median_of(lambda f, b: percentile(f.answers, 50))
    direct_p50 = median_of(lambda f, b: percentile(b, 50))
    return {
        "papers": papers,
        "conversations": conversations,
        "questions_per_run": runs[0][0].expected,
        "runs": len(runs),
        "ack_ms_p50": median_of(lambda f, b: percentile(f.acks, 50)),
        "ack_ms_p99": median_of(lambda f, b: percentile(f.acks, 99)),
        "answer_ms_p50": answer_p50,
        "answer_ms_p95": median_of(lambda f, b: percentile(f.answers, 95)),
        "direct_answer_ms_p50": direct_p50,
        "direct_answer_ms_p95": median_of(lambda f, b: percentile(b, 95)),
        "answer_p50_vs_direct": round(answer_p50 / direct_p50, 1) if direct_p50 else None,
        "wall_s": round(statistics.median(f.wall for f, _ in runs), 2),
        "lost": sum(f.expected - f.delivered for f, _ in runs),
        "duplicated": sum(f.duplicated for f, _ in runs),
    }


if __name__ == "__main__":
    raise SystemExit(main())
