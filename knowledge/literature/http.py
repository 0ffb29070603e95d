"""A polite HTTP client for scholarly APIs: identify ourselves, go slowly, retry kindly, remember.

OpenAlex and Crossref give better service to clients that say who they are (the
"polite pool"), and every source asks us not to hammer it. So each source gets
one `PoliteClient` that spaces its requests, retries 429 (honouring
`Retry-After`), 5xx and dropped connections with exponential backoff, gives up
after a timeout, and caches recent answers so the same question in two threads
costs one request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
from pydantic import BaseModel

from knowledge.literature.errors import (
    LiteratureError,
    MalformedResponse,
    NotFound,
    RateLimited,
    SourceTimeout,
    SourceUnavailable,
)

__all__ = ["ClientConfig", "Clock", "SystemClock", "PoliteClient", "user_agent"]

logger = logging.getLogger(__name__)


def user_agent(version: str, contact: str | None) -> str:
    """`Citewise/<version> (mailto:<contact>)`, the form OpenAlex and Crossref ask for."""
    return f"Citewise/{version} (mailto:{contact})" if contact else f"Citewise/{version}"


class Clock(Protocol):
    """Where waiting happens: real time in production, a test's own clock in tests."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ClientConfig(BaseModel):
    """How politely (and how patiently) to talk to one source."""

    user_agent: str = "Citewise"
    mailto: str | None = None
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 30.0
    min_interval: float = 0.1
    cache_ttl: float = 300.0
    cache_size: int = 256


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class PoliteClient:
    """GETs against one source's base URL with rate limit, retries, timeout and a TTL cache."""

    def __init__(self, source: str, base_url: str, config: ClientConfig, session: aiohttp.ClientSession,
                 *, clock: Clock | None = None) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.config = config
        self._session = session
        self._clock: Clock = clock or SystemClock()
        self._lock = asyncio.Lock()
        self._next_at = 0.0
        self._cache: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.requests_sent = 0  # what actually went over the wire; tests and logs use it

    async def get_json(self, path: str, params: dict[str, str | int] | None = None) -> Any:
        text = await self.get_text(path, params)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedResponse(f"answered with invalid JSON ({exc.msg} at char {exc.pos})", source=self.source) from None

    async def get_text(self, path: str, params: dict[str, str | int] | None = None) -> str:
        url = f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url
        key = url + "?" + urlencode(sorted((params or {}).items()))
        cached = self._cached(key)
        if cached is not None:
            return cached
        text = await self._fetch(url, params or {})
        self._remember(key, text)
        return text

    def _cached(self, key: str) -> str | None:
        hit = self._cache.get(key)
        if hit is None:
            return None
        expires, text = hit
        if expires < self._clock.monotonic():
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return text

    def _remember(self, key: str, text: str) -> None:
        if self.config.cache_ttl <= 0:
            return
        self._cache[key] = (self._clock.monotonic() + self.config.cache_ttl, text)
        self._cache.move_to_end(key)
        while len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)

    async def _wait_turn(self) -> None:
        """Space requests to this source at least `min_interval` apart, across all callers."""
        async with self._lock:
            now = self._clock.monotonic()
            delay = self._next_at - now
            self._next_at = max(now, self._next_at) + self.config.min_interval
        if delay > 0:
            await self._clock.sleep(delay)

    async def _fetch(self, url: str, params: dict[str, str | int]) -> str:
        cfg = self.config
        timeout = aiohttp.ClientTimeout(total=cfg.timeout)
        error: LiteratureError = SourceUnavailable("no attempt made", source=self.source)
        for attempt in range(cfg.retries + 1):
            delay = cfg.backoff * (2**attempt)
            await self._wait_turn()
            self.requests_sent += 1
            try:
                async with self._session.get(url, params=params, timeout=timeout) as response:
                    if response.status == 429:
                        asked = _retry_after(response.headers.get("Retry-After"))
                        error = RateLimited("rate limited (HTTP 429); try again later", source=self.source)
                        if asked is not None and asked > cfg.max_retry_after:
                            raise RateLimited(f"rate limited for the next {asked:.0f}s (HTTP 429)", source=self.source)
                        delay = asked if asked is not None else delay
                    elif response.status >= 500:
                        error = SourceUnavailable(f"server error (HTTP {response.status})", source=self.source)
                    elif response.status == 404:
                        raise NotFound("no such work (HTTP 404)", source=self.source)
                    elif response.status >= 400:
                        body = (await response.text(errors="replace"))[:120].strip()
                        raise LiteratureError(f"request refused (HTTP {response.status}: {body})", source=self.source)
                    else:
                        return await response.text(errors="replace")
            except (asyncio.TimeoutError, TimeoutError):
                error = SourceTimeout(f"no answer within {cfg.timeout:g}s", source=self.source)
            except aiohttp.ClientError as exc:
                error = SourceUnavailable(f"cannot connect ({type(exc).__name__})", source=self.source)
            if attempt < cfg.retries:
                logger.info("%s: %s; retry %d/%d in %.2fs", self.source, error, attempt + 1, cfg.retries, delay)
                await self._clock.sleep(delay)
        raise error
