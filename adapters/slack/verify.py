"""Is this HTTP request from Slack? Checked on the raw bytes, before anything is parsed.

Slack signs `v0:{timestamp}:{body}` with the app's signing secret (HMAC-SHA256) and
sends the timestamp alongside. A request is refused unless both headers are well
formed, the timestamp is within five minutes of our clock (so a captured request
cannot be replayed later) and the signature matches. Nothing about the body is
trusted or even decoded first: a forged request costs one HMAC and one log line.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

__all__ = ["MAX_SKEW_SECONDS", "refusal", "replay_key"]

MAX_SKEW_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def refusal(body: bytes, headers: Mapping[str, str], *, secret: str, now: float) -> str | None:
    """Why the request is not Slack's (a short reason for the log), or None when it is."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        return "unsigned (no signature or timestamp header)"
    if _TIMESTAMP.fullmatch(timestamp) is None:
        return "malformed timestamp header"
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return f"stale timestamp ({int(now) - int(timestamp):+d} s from now)"
    if _SIGNATURE.fullmatch(signature) is None:
        return "malformed signature header"
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "bad signature"
    return None


def replay_key(headers: Mapping[str, str]) -> str:
    """A durable key for one signed delivery: the same bytes sent again carry the same signature.

    Events also carry an event id, but slash commands and button clicks carry nothing
    Slack promises is unique; a replay inside the five-minute window is caught by this.
    """
    return f"slack:request:{headers.get('X-Slack-Request-Timestamp', '')}:{headers.get('X-Slack-Signature', '')[3:35]}"
