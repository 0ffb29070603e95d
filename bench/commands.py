"""The commands as a user runs them: whole processes, first output, per query with start-up subtracted.

The engine-only figures (`bench/run.py` phase `search`) say what tantivy costs; a user waits
for `python -m adapters.cli search --batch FILE -k 10 --json` — start-up, the store opening,
every hit's takeaway, JSON out. Each measurement here starts a fresh interpreter from this
checkout (not the installed `citewise` script, which may point at another one), offline.

- `commands`: `search --batch` and `ask --batch` over N queries and over 1 query; the
  difference divided by N − 1 is the per-query cost with start-up subtracted. `ask`'s
  per-question p50/p95 come from the gaps between its output lines.
- `first_output`: time from process start to the first byte on stdout, per command.
- `long_thread`: one conversation of many questions, in process: the last questions
  against the first.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["batch_command", "first_output", "long_thread", "quantile"]


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between order statistics."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["CITEWISE_OFFLINE"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _cli(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "adapters.cli", "--db", str(db), *args]


def _run_lines(command: list[str]) -> tuple[float, float, list[float]]:
    """Wall seconds, CPU seconds (user + sys) and the arrival time of each output line."""
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    arrivals = [time.perf_counter() - started for _ in iter(process.stdout.readline, b"")]
    process.wait()
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    return wall, cpu, arrivals


def batch_command(db: Path, verb: str, queries: list[str], workdir: Path) -> dict[str, float]:
    """`search --batch … -k 10 --json` or `ask --batch … --json` over all queries and over one."""
    workdir.mkdir(parents=True, exist_ok=True)
    many, one = workdir / f"{verb}-many.txt", workdir / f"{verb}-one.txt"
    many.write_text("\n".join(queries) + "\n", encoding="utf-8")
    one.write_text(queries[0] + "\n", encoding="utf-8")
    extra = ["-k", "10"] if verb == "search" else []
    wall_one, cpu_one, _ = _run_lines(_cli(db, verb, "--batch", str(one), *extra, "--json"))
    wall, cpu, arrivals = _run_lines(_cli(db, verb, "--batch", str(many), *extra, "--json"))
    per_query = (wall - wall_one) / (len(queries) - 1)
    gaps = [b - a for a, b in pairwise(arrivals)]
    return {
        "queries": len(queries), "process_s": wall, "one_query_process_s": wall_one,
        "per_query_ms": per_query * 1000, "qps": 1 / per_query if per_query > 0 else 0.0,
        "cpu_per_query_ms": (cpu - cpu_one) / (len(queries) - 1) * 1000,
        "line_p50_ms": quantile(gaps, 0.5) * 1000, "line_p95_ms": quantile(gaps, 0.95) * 1000,
        "first_line_s": arrivals[0] if arrivals else wall,
    }


def first_output(db: Path, query: str) -> dict[str, float]:
    """Seconds from process start to the first byte of output, for each user-facing command."""
    commands = {
        "help": [sys.executable, "-m", "adapters.cli", "--help"],
        "stats": _cli(db, "stats"),
        "search": _cli(db, "search", query, "-k", "10"),
        "search_json": _cli(db, "search", query, "-k", "10", "--json"),
        "ask": _cli(db, "ask", query),
        "ask_json": _cli(db, "ask", query, "--json"),
    }
    out: dict[str, float] = {}
    for name, command in commands.items():
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert process.stdout is not None
        process.stdout.read(1)
        out[f"{name}_s"] = time.perf_counter() - started
        process.stdout.read()
        process.wait()
    chat = subprocess.Popen(_cli(db, "chat"), cwd=ROOT, env=_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    started = time.perf_counter()
    assert chat.stdout is not None and chat.stdin is not None
    chat.stdout.read(1)
    out["chat_banner_s"] = time.perf_counter() - started
    chat.stdin.close()
    chat.stdout.read()
    chat.wait()
    return out


def long_thread(db: Path, questions: list[str], turns: int) -> dict[str, float]:
    """One conversation of `turns` questions (claims, each followed by two follow-ups), in process."""
    sys.path.insert(0, str(ROOT))
    from bot.compose import build_citewise
    from bot.models import Question
    from bot.settings import Settings

    core = build_citewise(Settings(db_path=db, offline=True))
    asked = [q for claim in questions for q in (claim, "what are its limitations?", "any RCTs?")]
    times: list[float] = []
    thread = f"long-{time.time_ns()}"
    for n in range(turns):
        started = time.perf_counter()
        core.answer_now(Question(text=asked[n % len(asked)], conversation_id=thread))
        times.append(time.perf_counter() - started)
    core.close()
    window = max(1, min(100, turns // 10))
    # Compare like with like: the same questions open and close the thread (turns is a multiple of
    # the cycle when it fits), medians over a window, so one slow moment does not decide it.
    first, last = statistics.median(times[:window]), statistics.median(times[-window:])
    return {"turns": turns, "first_ms": first * 1000, "last_ms": last * 1000, "last_over_first": last / first,
            "p50_ms": quantile(times, 0.5) * 1000, "p95_ms": quantile(times, 0.95) * 1000}
