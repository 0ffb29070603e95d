"""A loopback fake of Discord: the REST API under /api/v10 and the gateway websocket.

The real discord.py client is pointed at it (127.0.0.1, port 0) and tests assert on
what it received, the way Discord would see it. It keeps just enough state to be
faithful where the adapter depends on it: a deferred interaction's first follow-up
edits the "thinking" message, threads created on a message are announced with
THREAD_CREATE and listed in GUILD_CREATE after a reconnect, button presses
carry the message as it currently is, and attachments are served from the same
port (`attachment`), as Discord's CDN would serve them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiohttp import WSMsgType, web

from fakes.loopback import serve_on_loopback

__all__ = ["FakeDiscord", "RecordedCall", "EPHEMERAL"]

logger = logging.getLogger(__name__)

EPHEMERAL = 1 << 6
_LOADING = 1 << 7
_TEXT_CHANNEL, _PUBLIC_THREAD = 0, 11
_SUB_COMMAND, _STRING, _ATTACHMENT = 1, 3, 11

JSON = dict[str, Any]
Handler = Callable[["FakeDiscord", re.Match[str], JSON | None], Awaitable[web.StreamResponse]]


@dataclass
class RecordedCall:
    """One REST request as the fake received it."""

    method: str
    path: str  # without the /api/v10 prefix
    json: JSON | list[Any] | None
    at: float = field(default_factory=time.monotonic)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


class FakeDiscord:
    """REST + gateway on one loopback port; one bot, one guild, one text channel."""

    application_id = 900_000_000_000_000_001
    bot_user_id = 900_000_000_000_000_001
    guild_id = 900_000_000_000_000_100
    channel_id = 900_000_000_000_000_200
    user = {"id": "900000000000000300", "username": "ada", "discriminator": "0", "global_name": "Ada", "avatar": None}

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self.gateway_frames: list[JSON] = []  # what the client sent on the gateway
        self.messages: dict[int, JSON] = {}
        self.threads: dict[int, JSON] = {}
        self.files: dict[str, bytes] = {}  # attachment id -> the bytes its url serves
        self.downloads: list[str] = []  # attachment ids, in the order they were fetched
        self.dispatched_at: dict[str, float] = {}  # interaction id -> when it was dispatched
        # Called with each new thread before the REST reply: a user who posts the instant it appears.
        self.on_thread_created: Callable[[JSON], Awaitable[None]] | None = None
        self._interactions: dict[str, JSON] = {}  # token -> interaction payload
        self._originals: dict[str, int] = {}  # token -> original response message id
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self._seq = itertools.count(1)
        self._socket: web.WebSocketResponse | None = None
        self._ready = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # ── lifecycle ─────────────────────────────────────────────────────────
    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{id}/{filename}", self._attachment_file)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner, port = await serve_on_loopback(app)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._socket is not None and not self._socket.closed:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/gateway"

    @property
    def connected(self) -> bool:
        return self._socket is not None and not self._socket.closed

    def new_id(self) -> int:
        return next(self._ids)

    # ── waiting on what the client did ────────────────────────────────────
    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Until a client has identified (or resumed) on the current gateway socket.

        The guild has been sent by then, so events dispatched next find it cached; no need
        to wait out discord.py's pause for more guilds before `on_ready`.
        """
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def wait_for_call(
        self, method: str, pattern: str, *, after: int = 0, timeout: float = 10.0
    ) -> RecordedCall:
        """The first call from index `after` on whose path fully matches `pattern`."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            for call in self.calls[after:]:
                if call.method == method and regex.fullmatch(call.path):
                    return call
            await asyncio.sleep(0.01)
        seen = "\n".join(f"  {c.method} {c.path}" for c in self.calls[after:])
        raise AssertionError(f"no {method} {pattern} within {timeout}s; saw:\n{seen}")

    async def wait_for_frame(self, op: int, *, timeout: float = 10.0) -> JSON:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.gateway_frames:
                if frame.get("op") == op:
                    return frame
            await asyncio.sleep(0.01)
        raise AssertionError(f"client sent no gateway op {op} within {timeout}s")

    def message_payloads(self) -> list[JSON]:
        """Every request body that creates or edits a message (for allowed_mentions checks)."""
        out: list[JSON] = []
        for call in self.calls:
            body = call.json if isinstance(call.json, dict) else None
            if body is None or call.method not in {"POST", "PATCH"} or call.path.endswith("/threads"):
                continue
            if "/callback" in call.path:
                data = body.get("data") or {}
                if body.get("type") in (4, 7) and data:
                    out.append(data)
            elif "/messages" in call.path or call.path.startswith("/webhooks/"):
                out.append(body)
        return out

    # ── gateway ───────────────────────────────────────────────────────────
    async def dispatch(self, event: str, data: JSON) -> None:
        if self._socket is None or self._socket.closed:
            raise AssertionError("no client is connected to the fake gateway")
        await self._socket.send_str(json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data}))

    async def ask_to_reconnect(self) -> None:
        """Gateway opcode 7: the client should reconnect and RESUME."""
        self._ready.clear()
        assert self._socket is not None
        await self._socket.send_str(json.dumps({"op": 7, "d": None}))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ready.clear()  # a new connection: ready again once it identifies or resumes
        self._socket = ws
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45_000}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            self.gateway_frames.append(frame)
            op = frame.get("op")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                await self._identify(ws)
            elif op == 6:
                await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": next(self._seq), "d": {}}))
                self._ready.set()
        if self._socket is ws:
            self._socket = None
            self._ready.clear()
        return ws

    async def _identify(self, ws: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": self._bot_user(),
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": f"session-{self.new_id()}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "shard": [0, 1],
        }
        await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": ready}))
        await ws.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": self._guild()}))
        self._ready.set()

    def _bot_user(self) -> JSON:
        return {"id": str(self.bot_user_id), "username": "Citewise", "discriminator": "0", "avatar": None,
                "bot": True, "global_name": None}

    def _guild(self) -> JSON:
        channel = {"id": str(self.channel_id), "type": _TEXT_CHANNEL, "name": "research", "position": 0,
                   "guild_id": str(self.guild_id), "permission_overwrites": [], "nsfw": False, "parent_id": None}
        return {
            "id": str(self.guild_id), "name": "Lab", "icon": None, "owner_id": self.user["id"], "roles": [
                {"id": str(self.guild_id), "name": "@everyone", "permissions": "1024", "position": 0, "color": 0,
                 "hoist": False, "managed": False, "mentionable": False},
            ], "emojis": [], "stickers": [], "features": [], "member_count": 2, "members": [], "channels": [channel],
            "threads": list(self.threads.values()), "voice_states": [], "presences": [], "large": False,
            "unavailable": False, "joined_at": _now_iso(), "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "premium_tier": 0, "preferred_locale": "en-US",
            "system_channel_flags": 0, "nsfw_level": 0,
        }

    # ── building the events a test dispatches ─────────────────────────────
    def _member(self) -> JSON:
        return {"user": self.user, "roles": [], "joined_at": _now_iso(), "deaf": False, "mute": False,
                "permissions": "2147483647", "flags": 0}

    def _interaction(self, kind: int, data: JSON, channel_id: int, message: JSON | None = None) -> JSON:
        token = f"token-{self.new_id()}"
        channel_type = _PUBLIC_THREAD if channel_id in self.threads else _TEXT_CHANNEL
        payload: JSON = {
            "id": str(self.new_id()), "application_id": str(self.application_id), "type": kind, "data": data,
            "guild_id": str(self.guild_id), "channel_id": str(channel_id),
            "channel": {"id": str(channel_id), "type": channel_type, "guild_id": str(self.guild_id),
                        "parent_id": self.threads[channel_id]["parent_id"] if channel_id in self.threads else None},
            "member": self._member(), "token": token, "version": 1, "locale": "en-US", "guild_locale": "en-US",
            "app_permissions": "2147483647", "entitlements": [], "attachment_size_limit": 10_485_760,
            "authorizing_integration_owners": {}, "context": 0,
        }
        if message is not None:
            payload["message"] = message
        self._interactions[token] = payload
        return payload

    async def slash(
        self, name: str, *, channel_id: int | None = None, subcommand: str | None = None,
        files: dict[str, JSON] | None = None, **options: str,
    ) -> JSON:
        """Dispatch a chat-input command, e.g. `slash("ask", question="...")`.

        With `subcommand`, the options belong to it (`slash("paper", subcommand="add", refs=...)`);
        `files` maps an option name to an `attachment(...)`, resolved the way Discord sends it.
        """
        given = [{"name": k, "type": _STRING, "value": v} for k, v in options.items()]
        given += [{"name": k, "type": _ATTACHMENT, "value": a["id"]} for k, a in (files or {}).items()]
        data: JSON = {"id": str(self.new_id()), "name": name, "type": 1, "guild_id": str(self.guild_id),
                      "options": [{"name": subcommand, "type": _SUB_COMMAND, "options": given}] if subcommand else given}
        if files:
            data["resolved"] = {"attachments": {a["id"]: a for a in files.values()}}
        payload = self._interaction(2, data, channel_id or self.channel_id)
        self.dispatched_at[payload["id"]] = time.monotonic()
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    def attachment(self, filename: str, data: bytes, *, size: int | None = None,
                   content_type: str = "application/octet-stream") -> JSON:
        """An attachment object whose url serves `data`; `size` overrides what it claims."""
        attachment_id = str(self.new_id())
        self.files[attachment_id] = data
        url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
        return {"id": attachment_id, "filename": filename, "size": len(data) if size is None else size,
                "url": url, "proxy_url": url, "content_type": content_type}

    async def _attachment_file(self, request: web.Request) -> web.StreamResponse:
        attachment_id = request.match_info["id"]
        self.downloads.append(attachment_id)
        if attachment_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[attachment_id], content_type="application/octet-stream")

    async def press(self, custom_id: str, message_id: int) -> JSON:
        """Dispatch a button press on a message as it currently is."""
        message = self.messages[message_id]
        data = {"custom_id": custom_id, "component_type": 2}
        payload = self._interaction(3, data, int(message["channel_id"]), message=dict(message))
        self.dispatched_at[payload["id"]] = time.monotonic()
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def post_message(self, content: str, *, channel_id: int | None = None, mention_bot: bool = False,
                           attachments: list[JSON] | None = None) -> JSON:
        """Dispatch a MESSAGE_CREATE from the test user (with `attachment(...)`s, if given)."""
        cid = channel_id or self.channel_id
        mentions = [self._bot_user()] if mention_bot else []
        message = self._message(cid, {"content": content}, author=self.user, mentions=mentions)
        message["attachments"] = list(attachments or [])
        message["guild_id"] = str(self.guild_id)
        message["member"] = {k: v for k, v in self._member().items() if k != "user"}
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    def _message(self, channel_id: int, body: JSON, *, author: JSON | None = None,
                 mentions: list[JSON] | None = None, message_id: int | None = None) -> JSON:
        message: JSON = {
            "id": str(message_id or self.new_id()), "channel_id": str(channel_id), "type": 0,
            "author": author or self._bot_user(), "content": "", "timestamp": _now_iso(), "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": mentions or [], "mention_roles": [],
            "attachments": [], "embeds": [], "components": [], "pinned": False, "flags": 0,
        }
        message.update({k: v for k, v in body.items() if k in {"content", "embeds", "components", "flags"}})
        self.messages[int(message["id"])] = message
        return message

    def _edit(self, message_id: int, body: JSON) -> JSON:
        message = self.messages[message_id]
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key]
        message["flags"] = message.get("flags", 0) & ~_LOADING
        message["edited_timestamp"] = _now_iso()
        return message

    # ── REST ──────────────────────────────────────────────────────────────
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body = await _body(request)
        self.calls.append(RecordedCall(request.method, path, body))
        for method, regex, handler in _ROUTES:
            match = regex.fullmatch(path)
            if match and method == request.method:
                return await handler(self, match, body if isinstance(body, dict) else None)
        if request.method == "PUT" and re.fullmatch(r"/applications/\d+(/guilds/\d+)?/commands", path):
            commands = body if isinstance(body, list) else []
            synced = [{**c, "id": str(self.new_id()), "application_id": str(self.application_id), "version": "1"}
                      for c in commands]
            return _json(synced)
        return _json({"message": "Unknown route (fake)", "code": 0}, status=404)


def _json(data: Any, status: int = 200) -> web.Response:
    """discord.py decodes a body only when Content-Type is exactly application/json (no charset)."""
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


async def _body(request: web.Request) -> JSON | list[Any] | None:
    if not request.can_read_body:
        return None
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if getattr(part, "name", None) == "payload_json":
                return json.loads(await part.text())  # type: ignore[union-attr]
        return None
    text = await request.text()
    return json.loads(text) if text else None


# ── route handlers: (fake, match, json body) -> response ─────────────────────
async def _me(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    return _json(fake._bot_user())


async def _application(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    return _json({
        "id": str(fake.application_id), "name": "Citewise", "description": "", "icon": None, "bot_public": True,
        "bot_require_code_grant": False, "owner": fake.user, "verify_key": "0" * 64, "flags": 0, "team": None,
        "summary": "", "interactions_endpoint_url": None,
    })


async def _gateway_bot(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    return _json({"url": fake.gateway_url, "shards": 1, "session_start_limit": {
        "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})


async def _callback(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    interaction_id, token = m["id"], m["token"]
    body = body or {}
    kind, data = body.get("type"), body.get("data") or {}
    payload = fake._interactions[token]
    resource: JSON = {"type": kind}
    if kind in (4, 5):  # a new message (or the "thinking…" placeholder)
        flags = data.get("flags", 0) | (_LOADING if kind == 5 else 0)
        message = fake._message(int(payload["channel_id"]), {**data, "flags": flags})
        fake._originals[token] = int(message["id"])
        resource["message"] = message
    elif kind == 7:  # update the message the component is on
        resource["message"] = fake._edit(int(payload["message"]["id"]), data)
    info = {"id": interaction_id, "type": payload["type"], "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL)}
    if token in fake._originals:
        info["response_message_id"] = str(fake._originals[token])
    return _json({"interaction": info, "resource": resource})


async def _followup(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    token, body = m["token"], body or {}
    original = fake._originals.get(token)
    if original is not None and fake.messages[original].get("flags", 0) & _LOADING:
        return _json(fake._edit(original, body))  # the first follow-up replaces "thinking…"
    channel_id = int(fake._interactions[token]["channel_id"])
    return _json(fake._message(channel_id, body))


async def _webhook_message(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    token, which = m["token"], m["message"]
    message_id = fake._originals.get(token) if which == "@original" else int(which)
    if message_id is None or message_id not in fake.messages:
        return _json({"message": "Unknown Message", "code": 10008}, status=404)
    return _json(fake._edit(message_id, body or {}))


async def _delete_webhook_message(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    token, which = m["token"], m["message"]
    message_id = fake._originals.pop(token, None) if which == "@original" else int(which)
    fake.messages.pop(message_id or 0, None)
    return web.Response(status=204)


async def _create_message(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    return _json(fake._message(int(m["channel"]), body or {}))


async def _edit_message(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    return _json(fake._edit(int(m["message"]), body or {}))


async def _typing(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    return web.Response(status=204)


async def _thread(fake: FakeDiscord, m: re.Match[str], body: JSON | None) -> web.StreamResponse:
    thread_id = int(m["message"])  # Discord gives a thread started on a message the message's id
    thread = {
        "id": str(thread_id), "type": _PUBLIC_THREAD, "guild_id": str(fake.guild_id), "parent_id": m["channel"],
        "name": (body or {}).get("name", ""), "owner_id": str(fake.bot_user_id), "message_count": 0,
        "member_count": 1, "rate_limit_per_user": 0, "last_message_id": None, "flags": 0,
        "thread_metadata": {"archived": False, "auto_archive_duration": (body or {}).get("auto_archive_duration", 1440),
                            "archive_timestamp": _now_iso(), "locked": False},
    }
    fake.threads[thread_id] = thread
    await fake.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
    if fake.on_thread_created is not None:
        await fake.on_thread_created(thread)
    return _json(thread, status=201)


_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(pattern), handler)
    for method, pattern, handler in [
        ("GET", r"/users/@me", _me),
        ("GET", r"/(oauth2/)?applications/@me", _application),
        ("GET", r"/gateway/bot", _gateway_bot),
        ("POST", r"/interactions/(?P<id>\d+)/(?P<token>[^/]+)/callback", _callback),
        ("POST", r"/webhooks/\d+/(?P<token>[^/]+)", _followup),
        ("PATCH", r"/webhooks/\d+/(?P<token>[^/]+)/messages/(?P<message>@original|\d+)", _webhook_message),
        ("DELETE", r"/webhooks/\d+/(?P<token>[^/]+)/messages/(?P<message>@original|\d+)", _delete_webhook_message),
        ("POST", r"/channels/(?P<channel>\d+)/messages", _create_message),
        ("PATCH", r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)", _edit_message),
        ("POST", r"/channels/(?P<channel>\d+)/typing", _typing),
        ("POST", r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)/threads", _thread),
    ]
]
