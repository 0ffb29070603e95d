"""Realistic Slack payloads for tests: Events API envelopes, block_actions, slash commands.

Shapes follow Slack's documented payloads (see ../shared/data/fixtures/slack_*.json
for the full field sets); values are filled in per test.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from fakes.slack_api import BOT_USER, TEAM

__all__ = ["event", "mention", "message", "block_action", "slash_command", "signed_headers", "next_ts", "form_body", "interactive_body",
           "assistant_thread_started"]

_counter = itertools.count(1)


def next_ts() -> str:
    return f"1710000000.{next(_counter):06d}"


def event(inner: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy", "team_id": TEAM, "api_app_id": "A0CITEWISE", "type": "event_callback",
        "event": inner, "event_id": event_id or f"Ev{next(_counter):08d}", "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False, "event_context": "4-context",
    }


def mention(text: str, *, channel: str = "C0RESEARCH", ts: str | None = None, thread_ts: str | None = None,
            user: str = "U0ALICE", event_id: str | None = None) -> dict[str, Any]:
    inner = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts or next_ts(),
             "channel": channel, "event_ts": ts, "team": TEAM}
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return event(inner, event_id=event_id)


def message(text: str, *, channel: str = "C0RESEARCH", ts: str | None = None, thread_ts: str | None = None,
            user: str = "U0ALICE", channel_type: str = "channel", event_id: str | None = None,
            **extra: Any) -> dict[str, Any]:
    inner = {"type": "message", "user": user, "text": text, "ts": ts or next_ts(), "channel": channel,
             "channel_type": channel_type, "team": TEAM, **extra}
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return event(inner, event_id=event_id)


def assistant_thread_started(*, channel: str = "D0ALICE", thread_ts: str | None = None) -> dict[str, Any]:
    thread_ts = thread_ts or next_ts()
    return event({"type": "assistant_thread_started", "event_ts": thread_ts,
                  "assistant_thread": {"user_id": "U0ALICE", "context": {}, "channel_id": channel,
                                       "thread_ts": thread_ts}})


def block_action(action_id: str, value: str, *, channel: str, message_ts: str, thread_ts: str | None,
                 response_url: str, user: str = "U0BOB", ephemeral: bool = False) -> dict[str, Any]:
    return {
        "type": "block_actions", "team": {"id": TEAM, "domain": "team"},
        "user": {"id": user, "username": "bob", "team_id": TEAM}, "api_app_id": "A0CITEWISE",
        "token": "legacy", "trigger_id": f"{next(_counter)}.trigger",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": ephemeral},
        "channel": {"id": channel, "name": "research"},
        "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts, "bot_id": "BCITEWISE", "text": ""},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": f"citewise.{value}", "value": value,
                     "action_ts": next_ts(), "text": {"type": "plain_text", "text": "x"}}],
    }


def slash_command(text: str, *, channel: str = "C0RESEARCH", response_url: str, user: str = "U0ALICE",
                  command: str = "/ask") -> dict[str, str]:
    return {"token": "legacy", "team_id": TEAM, "team_domain": "team", "channel_id": channel,
            "channel_name": "research", "user_id": user, "user_name": "alice", "command": command, "text": text,
            "api_app_id": "A0CITEWISE", "response_url": response_url, "trigger_id": f"{next(_counter)}.trigger"}


def signed_headers(body: str, secret: str, *, timestamp: int | None = None, content_type: str) -> dict[str, str]:
    """Headers Slack would send: v0 HMAC-SHA256 over `v0:timestamp:body`."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


def form_body(fields: dict[str, str]) -> str:
    return urlencode(fields)


def interactive_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})
