"""A loopback Slack: Web API methods, response_url hooks and a Socket Mode websocket.

The real slack-sdk/slack-bolt clients are pointed at it (`SLACK_API_URL`), and
tests assert on what it received, exactly as Slack would see it. Failures
(429 with Retry-After, 5xx) can be queued per method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from fakes.loopback import serve_on_loopback

__all__ = ["BOT_ID", "BOT_USER", "TEAM", "Call", "FakeSlack"]

logger = logging.getLogger(__name__)

BOT_USER = "UCITEWISE"
BOT_ID = "BCITEWISE"
TEAM = "T0TEAM"


@dataclass
class Call:
    """One request the fake received: Web API method (or `response_url`) and its arguments."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    result: dict[str, Any] | None = None  # what the fake answered (None until it did)

    @property
    def blocks(self) -> list[dict]:
        return self.args.get("blocks") or []


@dataclass
class _Failure:
    status: int
    headers: dict[str, str]
    error: str


class FakeSlack:
    """Start with `async with FakeSlack() as slack:`; `api_url` goes into `SLACK_API_URL`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.acks: dict[str, dict[str, Any] | None] = {}
        self.files: dict[str, bytes] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)
        self.grants: dict[str, str] = {}  # OAuth code → the workspace that granted it (see `grant`)
        # (method, which calls, reached, release, lands): calls kept waiting (see `hold`)
        self._holds: list[tuple[str, Callable[[Call], bool], asyncio.Event, asyncio.Event, bool]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ── lifecycle ──────────────────────────────────────────────────────────
    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack-sdk reads some methods (conversations.replies) by GET
        app.router.add_post("/response/{hook}", self._response_url)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/files/{name}", self._file)
        self._runner, self.port = await serve_on_loopback(app, access_log=None)
        return self

    async def __aexit__(self, *_: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def host_file(self, name: str, data: bytes) -> str:
        """Serve `data` as a shared file (only with the bot token); returns its `url_private_download`."""
        self.files[name] = data
        return f"{self.base}/files/{name}"

    def response_url(self) -> str:
        return f"{self.base}/response/{uuid.uuid4().hex[:8]}"

    # ── failure injection ──────────────────────────────────────────────────
    def fail_next(self, method: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None,
                  error: str | None = None) -> None:
        """Answer the next `times` calls to `method` with an error (HTTP `status`, Slack `error`)."""
        error = error or ("ratelimited" if status == 429 else "internal_error")
        self._failures.setdefault(method, []).extend(_Failure(status, headers or {}, error) for _ in range(times))

    # ── queries ────────────────────────────────────────────────────────────
    def grant(self, code: str, team: str) -> str:
        """Let `code` be exchanged once by oauth.v2.access for `team`'s bot token; the token."""
        self.grants[code] = team
        return f"xoxb-{team}"

    def hold(self, method: str, where: Callable[[Call], bool], *, lands: bool = True,
             ) -> tuple[asyncio.Event, asyncio.Event]:
        """Keep the next matching call waiting: (reached, release) — set `release` to let it answer.

        How a test catches a worker mid-answer (to kill it there) without timing it. With
        `lands=False` the call, once released, fails without taking effect: the sender died
        before Slack acted on it.
        """
        reached, release = asyncio.Event(), asyncio.Event()
        self._holds.append((method, where, reached, release, lands))
        return reached, release

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def _messages(self) -> dict[str, dict[str, Any]]:
        """Every message the bot posted, as it stands now (after its updates), by ts."""
        found: dict[str, dict[str, Any]] = {}
        for call in self.calls:
            ts = (call.result or {}).get("ts")
            if call.method == "chat.postMessage" and ts:
                found[ts] = {"ts": ts, "channel": call.args.get("channel"), "thread_ts": call.args.get("thread_ts") or ts,
                             "bot_id": BOT_ID, "text": call.args.get("text", ""), "blocks": _blocks(call.args.get("blocks"))}
            elif call.method == "chat.update" and ts in found:
                found[ts] |= {"text": call.args.get("text", ""), "blocks": _blocks(call.args.get("blocks"))}
        return found

    def _thread(self, channel: str, thread: str) -> list[dict[str, Any]]:
        """One thread's bot messages (what conversations.replies shows)."""
        return [m for m in self._messages().values() if m["channel"] == channel and m["thread_ts"] == thread]

    def thread_messages(self) -> dict[str, dict[str, str]]:
        """Each thread's messages as a reader sees them now: thread ts → {message ts → latest text}."""
        threads: dict[str, dict[str, str]] = {}
        for message in self._messages().values():
            threads.setdefault(str(message["thread_ts"]), {})[message["ts"]] = str(message["text"])
        return threads

    async def wait_for(self, method: str, count: int = 1, *, timeout: float = 10.0,
                       where: Callable[[Call], bool] | None = None) -> list[Call]:
        """Poll until `count` matching calls arrived (no fixed sleeps in tests)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [c for c in self.calls_to(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"expected {count} {method} call(s), got {len(found)}; calls: {seen}")
            await asyncio.sleep(0.01)

    # ── Web API ────────────────────────────────────────────────────────────
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        call = Call(method, args, dict(request.headers))
        self.calls.append(call)
        for held in list(self._holds):
            if held[0] == method and held[1](call):
                self._holds.remove(held)
                held[2].set()
                await held[3].wait()
                if not held[4]:
                    return web.json_response({"ok": False, "error": "request_timeout"}, status=503)
                break
        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status,
                                     headers=failure.headers)
        if method == "oauth.v2.access":
            team = self.grants.pop(str(args.get("code")), None)
            if team is None:
                return web.json_response({"ok": False, "error": "invalid_code"})
            return web.json_response(_oauth_access(team))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        call.result = {"ok": True, **self._result(method, args, token)}
        return web.json_response(call.result)

    def _result(self, method: str, args: dict[str, Any], token: str = "") -> dict[str, Any]:
        if method == "auth.test":
            team = token.removeprefix("xoxb-") if token.startswith("xoxb-T") else TEAM
            return {"url": "https://team.example/", "team": "Team", "user": "citewise", "team_id": team,
                    "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "apps.connections.open":
            return {"url": f"ws://127.0.0.1:{self.port}/ws"}
        if method in ("chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream", "chat.stopStream"):
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"channel": args.get("channel"), "ts": ts,
                    "message": {"text": args.get("text", ""), "ts": ts, "bot_id": BOT_ID}}
        if method == "chat.postEphemeral":
            return {"message_ts": f"1700000000.{next(self._ts):06d}"}
        if method == "conversations.replies":
            return {"messages": self._thread(str(args.get("channel")), str(args.get("ts"))), "has_more": False}
        return {}

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.calls.append(Call("files.download", {"name": name}, dict(request.headers)))
        if not request.headers.get("Authorization", "").startswith("Bearer xoxb-"):
            return web.Response(status=403, text="login required")
        if name not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[name], content_type="application/octet-stream")

    async def _response_url(self, request: web.Request) -> web.Response:
        self.calls.append(Call("response_url", await request.json(), dict(request.headers)))
        return web.Response(text="ok")

    # ── Socket Mode ────────────────────────────────────────────────────────
    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"},
                            "connection_info": {"app_id": "A0CITEWISE"}})
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    data = json.loads(message.data)
                    self.acks[data["envelope_id"]] = data.get("payload")
        finally:
            self._sockets.remove(ws)
        return ws

    async def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._sockets:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("no Socket Mode connection")
            await asyncio.sleep(0.01)

    async def send_envelope(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Push one envelope (`events_api`, `interactive`, `slash_commands`) to the connected app."""
        envelope_id = uuid.uuid4().hex
        await self._sockets[-1].send_json({
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else "",
        })
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any] | None:
        deadline = asyncio.get_running_loop().time() + timeout
        while envelope_id not in self.acks:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"envelope {envelope_id} was not acknowledged")
            await asyncio.sleep(0.005)
        return self.acks[envelope_id]


def _blocks(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _oauth_access(team: str) -> dict[str, Any]:
    """oauth.v2.access's answer for a bot installed into `team`."""
    return {"ok": True, "app_id": "ACITEWISE", "authed_user": {"id": f"U-{team}"}, "scope": "chat:write,commands",
            "token_type": "bot", "access_token": f"xoxb-{team}", "bot_user_id": BOT_USER,
            "team": {"id": team, "name": f"Workspace {team}"}, "enterprise": None, "is_enterprise_install": False}


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Arguments as Slack reads them: JSON body or form fields; `blocks` decoded either way."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(await request.json())
    elif request.can_read_body:
        args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for key in ("blocks", "metadata", "prompts"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args
