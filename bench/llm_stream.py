"""LLM benchmark: 20 concurrent conversations answered by the scripted fake model, streamed.

Replays the test suite's loopback OpenAI-compatible fake (real HTTP, server-sent events, a
real pause between events standing in for the model's speed) behind the real core: each
conversation asks a SciFact claim, then a follow-up in the same thread, all at once. The
script mixes faithful replies with the failures TrueCite and the fallback must catch (a
number no passage has, a fabricated citation, a 429 with Retry-After, a 500). Reported:
time to the first streamed draft, time to the final verified answer, and how many written
sentences TrueCite kept, re-cited and removed.

    python3 bench/llm_stream.py --conversations 20 --runs 3

SciFact (../shared/data/scifact) supplies the papers and the opening questions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat_slack import (  # noqa: E402
    FOLLOW_UPS,
    _copy_store,
    conversation_parser,
    opening_questions,
    percentile,
    scifact_missing,
)
from bot.compose import build_citewise  # noqa: E402
from bot.core import Citewise  # noqa: E402
from bot.models import Question  # noqa: E402
from bot.settings import Settings  # noqa: E402
from fakes.openai_api import FakeOpenAI, Script, echo_reply  # noqa: E402
from knowledge.ingest import ingest_file  # noqa: E402
from knowledge.store import PaperStore  # noqa: E402

PAUSE = 0.02  # real seconds between 16-character events: about 200 tokens a second


def _scripts() -> itertools.cycle[Script]:
    """The replay, in a fixed order: 6 faithful, 2 with a number no passage has, 1 fabricated citation, 1 failure."""
    def with_extra(extra: str):  # type: ignore[no-untyped-def]
        return lambda messages: echo_reply(messages, extra=extra)

    faithful = Script(content=lambda messages: echo_reply(messages), pause=PAUSE)
    number = Script(content=with_extra("The effect reached 97.3% in every group [1]."), pause=PAUSE)
    fabricated = Script(content=with_extra("A later trial confirmed this in 12,000 patients [99]."), pause=PAUSE)
    return itertools.cycle([faithful, faithful, number, faithful, fabricated, faithful, faithful, number,
                            faithful, Script(status=500)])


class ReplayingFake(FakeOpenAI):
    """The fake model serving the replay; a 429 with Retry-After first for every fifth request."""

    def __init__(self) -> None:
        super().__init__()
        self._replay = _scripts()
        self._served = itertools.count(1)

    async def _complete(self, request):  # type: ignore[no-untyped-def]
        if not self.queue:
            n = next(self._served)
            self.queue.append(Script(status=429, headers={"Retry-After": "0.2"}) if n % 5 == 0 else next(self._replay))
        return await super()._complete(request)


@dataclass
class Figures:
    first_draft: list[float] = field(default_factory=list)
    final: list[float] = field(default_factory=list)
    written: int = 0
    extractive: int = 0
    removed_kinds: Counter[str] = field(default_factory=Counter)


async def _conversation(core: Citewise, index: int, opening: str, figures: Figures) -> None:
    thread = f"bench-{index}"
    for text in (opening, *FOLLOW_UPS[:1]):
        started = time.perf_counter()
        first: list[float] = []

        async def on_draft(_: str, first: list[float] = first, started: float = started) -> None:
            if not first:
                first.append(time.perf_counter() - started)

        answer = await core.answer(Question(text=text, conversation_id=thread, user_id=f"U{index}"),
                                    on_draft=on_draft)
        figures.final.append(time.perf_counter() - started)
        figures.first_draft += first
        if answer.written_by == "model":
            figures.written += 1
            figures.removed_kinds.update(i.kind for i in answer.verification.removed)
        else:
            figures.extractive += 1


async def one_run(db: Path, openings: list[str]) -> tuple[Figures, dict[str, object], float]:
    figures = Figures()
    async with ReplayingFake() as llm:
        settings = Settings(db_path=db, llm_url=llm.url, llm_model="scripted-fake", llm_timeout=20.0, offline=True,
                            max_concurrent_answers=20, per_user_concurrency=2)
        core = build_citewise(settings, store=PaperStore(db))
        started = time.perf_counter()
        await asyncio.gather(*(_conversation(core, i, q, figures) for i, q in enumerate(openings)))
        wall = time.perf_counter() - started
        assert core.writer is not None
        stats = core.writer.stats
        written = {"sentences": stats.sentences, "kept_as_cited": stats.supported, "recited": stats.recited,
                   "removed": stats.dropped, "fallbacks": dict(stats.fallbacks),
                   "citation_recall": round(stats.citation_recall, 3),
                   "citation_precision": round(stats.citation_precision, 3)}
        await core.aclose()
    return figures, written, wall


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    args = conversation_parser(__doc__.split("\n\n")[0]).parse_args(argv)
    if scifact_missing(args):
        return 2
    import logging

    logging.basicConfig(level=logging.WARNING)
    runs = []
    with tempfile.TemporaryDirectory(prefix="citewise-llm-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        store = PaperStore(db)
        ingest_file(store, args.corpus, progress=False)
        papers = store.count()
        store.close()
        openings = opening_questions(args.claims, args.conversations)
        for run in range(args.runs):
            figures, written, wall = asyncio.run(one_run(_copy_store(db, Path(tmp) / f"run{run}.db"), openings))
            runs.append((figures, written, wall))
            print(f"run {run + 1}: first draft p50 {_ms(figures.first_draft, 50)} ms, final p50 "
                  f"{_ms(figures.final, 50)} ms, removed {written['removed']}/{written['sentences']}",
                  file=sys.stderr)
    report = {
        "papers": papers,
        "conversations": args.conversations,
        "answers_per_run": 2 * args.conversations,
        "runs": args.runs,
        "model_pause_ms_per_event": PAUSE * 1000,
        "first_draft_ms_p50": statistics.median(_ms(f.first_draft, 50) for f, _, _ in runs),
        "first_draft_ms_p95": statistics.median(_ms(f.first_draft, 95) for f, _, _ in runs),
        "final_ms_p50": statistics.median(_ms(f.final, 50) for f, _, _ in runs),
        "final_ms_p95": statistics.median(_ms(f.final, 95) for f, _, _ in runs),
        "wall_s": round(statistics.median(w for _, _, w in runs), 2),
        "written_by_model": [f.written for f, _, _ in runs],
        "extractive_fallbacks": [f.extractive for f, _, _ in runs],
        "truecite": [w for _, w, _ in runs],
        "issues_in_written_answers": [dict(f.removed_kinds) for f, _, _ in runs],
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
