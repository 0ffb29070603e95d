"""A loopback OpenAI-compatible chat-completions server that replies from a script.

Real HTTP on 127.0.0.1 (port 0) and real server-sent events, so `ChatClient` runs exactly
as against vLLM, llama.cpp or a hosted API. Each request takes the next queued `Script`
(or the default one): a status with headers (429 + Retry-After, 500), a raw body, or a
reply streamed in chunks. Time is the tests' `FakeClock` (tests/fakes/clock.py): a "slow" script advances it
before each chunk instead of sleeping, so a timeout is reached without waiting.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from fakes.loopback import serve_on_loopback

__all__ = ["MovableClock", "FakeOpenAI", "Script", "passages_in", "reply_json", "echo_reply"]

Messages = list[dict[str, str]]  # a chat request's messages


class MovableClock(Protocol):
    """What a "slow" script moves: the tests' clock (tests/fakes/clock.py), read by the client under test."""

    now: float


@dataclass
class Script:
    """One scripted response. `content` may be a function of the request's messages."""

    content: str | Callable[[Messages], str] = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # sent as is (application/json), not streamed
    chunk: int = 16  # characters per event
    delay: float = 0.0  # fake seconds before each event
    pause: float = 0.0  # real seconds between events (the bench's model speed; tests keep 0)


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def prompt(self) -> str:
        return "\n".join(m["content"] for m in self.body.get("messages", []))


def reply_json(answer: list[str], *, takeaways: dict[int, str] | None = None,
               sections: list[dict[str, Any]] | None = None) -> str:
    """The reply shape the prompt asks for."""
    return json.dumps({"answer": answer, "sections": sections or [],
                       "takeaways": {str(k): v for k, v in (takeaways or {}).items()}})


def passages_in(messages: Messages) -> dict[int, list[str]]:
    """The numbered passages of a Citewise prompt: number → its sentences."""
    text = messages[-1]["content"]
    found: dict[int, list[str]] = {}
    for match in re.finditer(r'<passage-[0-9a-f]+ n="(\d+)">\n(.*?)\n</passage-', text, re.S):
        lines = match[2].split("\n")[1:]
        found[int(match[1])] = [line[2:] for line in lines if line.startswith("- ")]
    return found


def echo_reply(messages: Messages, *, sentences: int = 2, extra: str = "") -> str:
    """A faithful reply built from the prompt: each passage's first sentence, cited to it."""
    passages = passages_in(messages)
    answer = [f"{lines[0].rstrip('.')} [{n}]." for n, lines in list(passages.items())[:sentences] if lines]
    if extra:
        answer.append(extra)
    return reply_json(answer, takeaways={n: lines[0] for n, lines in passages.items() if lines})


class FakeOpenAI:
    """`async with FakeOpenAI(clock) as llm:`; `llm.url` goes into `CITEWISE_LLM_URL`."""

    def __init__(self, clock: MovableClock | None = None) -> None:
        self.clock = clock  # without one (the bench), `Script.delay` is not used
        self.queue: list[Script] = []
        self.default: Script | None = None
        self.received: list[Received] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *scripts: Script) -> None:
        self.queue.extend(scripts)

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.received.append(Received(body=body, headers=dict(request.headers)))
        script = self.queue.pop(0) if self.queue else (self.default or Script(content=echo_reply))
        if script.status != 200:
            return web.json_response({"error": {"message": "scripted failure", "type": "server_error"}},
                                     status=script.status, headers=script.headers)
        content = script.content(body["messages"]) if callable(script.content) else script.content
        if script.body is not None or not body.get("stream"):
            raw = script.body if script.body is not None else json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": content}}]})
            return web.Response(text=raw, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for start in range(0, len(content), script.chunk):
            if self.clock is not None:
                self.clock.now += script.delay
            if script.pause:
                await asyncio.sleep(script.pause)
            piece = content[start:start + script.chunk]
            event = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
        usage = {"prompt_tokens": len(self.received[-1].prompt) // 4, "completion_tokens": len(content) // 4}
        await response.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
