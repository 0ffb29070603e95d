"""Citewise worker processes (`citewise run`, Slack HTTP mode) for the multi-worker test and bench.

Each worker gets its own port and the same database, Slack fake and index root (where it
takes its own slot); it is ready once `/healthz` answers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

__all__ = ["Worker", "start_workers", "stop_workers"]

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Worker:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.log = log


async def start_workers(count: int, settings: dict[str, str], workdir: Path) -> list[Worker]:
    """`count` workers with these environment settings (CITEWISE_*, SLACK_*), all answering /healthz."""
    workers = []
    for n in range(count):
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEWISE_", "SLACK_", "DISCORD_"))}
        env |= settings | {"HOST": "127.0.0.1", "PORT": str(port), "PYTHONPATH": str(ROOT)}
        log = workdir / f"worker-{n}.log"
        with log.open("wb") as handle:
            # Popen returns as soon as the worker is started; nothing here waits on it.
            proc = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "adapters.cli", "run"], cwd=workdir, env=env,
                stdout=handle, stderr=subprocess.STDOUT)
        workers.append(Worker(proc, port, log))
    async with aiohttp.ClientSession() as session:
        for worker in workers:
            for _ in range(600):
                try:
                    async with session.get(f"{worker.url}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                if worker.proc.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                stop_workers(workers)
                raise RuntimeError(f"worker {worker.url} never came up:\n{worker.log.read_text()[-2000:]}")
    return workers


def stop_workers(workers: list[Worker]) -> None:
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
