"""One streamed chat completion from an OpenAI-compatible server, over aiohttp (no vendor SDK).

Hosted APIs, vLLM, llama.cpp's server and Ollama all speak `POST {base}/chat/completions`
with server-sent events. The time budget covers the whole answer, retries after a 429
included (its Retry-After is honoured only when it fits); time and sleeping are injectable,
so tests reach a timeout without waiting.

    LLMError          reason: "it did not answer in time", "it was rate-limited",
                      "its server failed (HTTP 500)", "it could not be reached", …
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

__all__ = ["ChatClient", "Completion", "LLMError", "Clock", "Sleeper"]

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleeper = Callable[[float], Awaitable[None]]

_MAX_ATTEMPTS = 3


class LLMError(Exception):
    """The model could not be used for this answer; `reason` is shown after `NOTE_PREFIX`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Completion:
    text: str
    latency: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0  # an HTTP date: wait a second, within the budget


class ChatClient:
    """Streams one chat completion; the time budget covers retries, and time is injectable."""

    def __init__(self, *, url: str, model: str, api_key: str | None = None, timeout: float = 30.0,
                 max_tokens: int = 700, clock: Clock = time.monotonic, sleep: Sleeper = asyncio.sleep) -> None:
        self.url = url.rstrip("/") + "/chat/completions"
        self.model = model
        self._api_key = api_key
        self.timeout = timeout
        self.max_tokens = max_tokens
        self._clock = clock
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    async def complete(self, messages: list[dict[str, str]], *, on_text: Callable[[str], Awaitable[None]] | None = None,
                       ) -> Completion:
        """The whole reply text; `on_text(so_far)` after each streamed piece."""
        started = self._clock()
        deadline = started + self.timeout
        body: dict[str, object] = {"model": self.model, "messages": messages, "stream": True,
                                   "max_tokens": self.max_tokens, "temperature": 0.2,
                                   "stream_options": {"include_usage": True}}
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.timeout, sock_read=self.timeout))
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                # asyncio.wait_for, not asyncio.timeout: the package supports Python 3.10.
                outcome = await asyncio.wait_for(self._attempt(body, started, deadline, on_text),
                                                 timeout=max(0.0, deadline - self._clock()) + 0.5)
            except asyncio.TimeoutError:
                raise LLMError("it did not answer in time") from None
            except aiohttp.ClientError as exc:
                logger.info("llm unreachable: %s", type(exc).__name__)
                raise LLMError("it could not be reached") from None
            if isinstance(outcome, Completion):
                return outcome
            if attempt == _MAX_ATTEMPTS or self._clock() + outcome >= deadline:
                raise LLMError("it was rate-limited")
            logger.info("llm rate-limited; retrying in %.1f s", outcome)
            await self._sleep(outcome)
        raise LLMError("it was rate-limited")

    async def _attempt(self, body: dict[str, object], started: float, deadline: float,
                       on_text: Callable[[str], Awaitable[None]] | None) -> Completion | float:
        """One request: the completion, or the seconds a 429 asks to wait before the next."""
        assert self._session is not None
        async with self._session.post(self.url, json=body, headers=self._headers()) as response:
            if response.status == 429:
                return _retry_after(response.headers.get("Retry-After"))
            if response.status >= 500:
                raise LLMError(f"its server failed (HTTP {response.status})")
            if response.status >= 400:
                raise LLMError(f"its server refused the request (HTTP {response.status})")
            text, usage = await self._read(response, deadline, on_text)
            return Completion(text=text, latency=self._clock() - started,
                              prompt_tokens=usage.get("prompt_tokens"),
                              completion_tokens=usage.get("completion_tokens"))

    async def _read(self, response: aiohttp.ClientResponse, deadline: float,
                    on_text: Callable[[str], Awaitable[None]] | None) -> tuple[str, dict[str, int]]:
        if "text/event-stream" not in response.headers.get("Content-Type", ""):
            # A server that ignored "stream": one JSON body.
            try:
                data = json.loads(await response.text())
                return str(data["choices"][0]["message"]["content"] or ""), dict(data.get("usage") or {})
            except (ValueError, KeyError, IndexError, TypeError):
                raise LLMError("its reply was not a chat completion") from None
        pieces: list[str] = []
        usage: dict[str, int] = {}
        budget = self.max_tokens * 6  # characters: a generous bound on max_tokens
        async for raw in response.content:
            if self._clock() > deadline:
                raise LLMError("it did not answer in time")
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                continue
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content") or ""
                if piece:
                    pieces.append(piece)
            if sum(map(len, pieces)) > budget:
                break
            if on_text is not None and pieces:
                await on_text("".join(pieces))
        return "".join(pieces), usage

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
