"""Random Slack payloads and Discord interactions through the adapters' inbound translators.

Slack: any JSON value as an Events API envelope, and realistic envelopes with hostile
field values, through `to_post`, `question_text`, `parse_ask` and `to_inbound`; any
bytes and headers through the HTTP guard (`verify.refusal`, the payload check). Discord:
interactions and messages built by discord.py itself from the loopback fake's payload
shapes, with hostile contents and ids. Properties: nothing raises, and every question
that comes out can be serialised (what the store and the renderers need).
"""

from __future__ import annotations

import json
from typing import Any

import discord
from hypothesis import given
from hypothesis import strategies as st

from adapters.discord import inbound as discord_inbound
from adapters.slack import inbound as slack_inbound
from adapters.slack.http import payload_text
from adapters.slack.verify import refusal, replay_key
from bot.models import InboundMessage, Question
from bot.questions import problem_with
from fakes import slack_payloads as p
from fakes.discord_api import FakeDiscord
from tests.fuzzing import ADVERSARIAL, adversarial_text, fuzz

_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
            | st.sampled_from(ADVERSARIAL))
json_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
_EVENT_KEYS = ["type", "subtype", "channel", "channel_type", "user", "ts", "thread_ts", "text", "bot_id", "team", "files"]


def _check_question(question: Question) -> None:
    problem_with(question.text, max_chars=2_000)
    Question.model_validate_json(question.model_dump_json())


def _asked(platform: str, text: str, user: str, place: str) -> Question:
    """The question the router makes of a message (`Router.ask`), without its store."""
    return Question(text=text, user_id=user or "unknown", platform=platform, conversation_id=place)


def _check_inbound(message: InboundMessage) -> None:
    place = message.conversation_key or f"{message.platform}:reply-to:{message.message_id}"
    _check_question(_asked(message.platform, message.text, message.user, place))


@st.composite
def slack_envelopes(draw: st.DrawFn) -> Any:
    """Anything at all, or a real mention/message envelope whose fields are overwritten with hostile values."""
    if draw(st.booleans()):
        return draw(json_values)
    text = draw(adversarial_text(long=False))
    body = p.mention(text) if draw(st.booleans()) else p.message(text)
    for key in draw(st.lists(st.sampled_from(_EVENT_KEYS), max_size=4)):
        body["event"][key] = draw(json_values)
    if draw(st.booleans()):
        body["event"]["files"] = draw(st.lists(st.dictionaries(
            st.sampled_from(["name", "title", "url_private", "url_private_download", "size"]), json_values), max_size=3))
    return body


@fuzz(400)
@given(body=slack_envelopes(), bot=st.none() | st.sampled_from(["U0CITEWISE", "U0ALICE", ".*", ""]))
def test_slack_envelopes_translate_or_are_ignored(body: Any, bot: str | None) -> None:
    post = slack_inbound.to_post(body)
    if post is None:
        return
    _check_inbound(slack_inbound.to_inbound(post, bot_user_id=bot, mentioned=True, event_id=None))


@fuzz(200)
@given(text=adversarial_text())
def test_slash_command_text_translates(text: str) -> None:
    private, raw = slack_inbound.parse_ask(text)
    _check_question(_asked(slack_inbound.PLATFORM, slack_inbound.question_text(raw), "U0", "c"))


_header_values = st.sampled_from(["", "0", "1710000000", "9" * 40, "-5", "v0=", "v0=" + "a" * 64, "\u00e9"]) | st.text(
    alphabet=st.characters(codec="latin-1"), max_size=80)


@fuzz(300)
@given(body=st.binary(max_size=600), timestamp=_header_values, signature=_header_values,
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]))
def test_http_guard_never_raises_on_any_request(body: bytes, timestamp: str, signature: str, content_type: str) -> None:
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    assert refusal(body, headers, secret="s3cret", now=1_710_000_000.0) is not None  # nothing here is signed
    replay_key(headers)
    text = payload_text(body, content_type)
    if text is not None and content_type == "application/json":
        assert isinstance(json.loads(text), dict)


# ── Discord ───────────────────────────────────────────────────────────────
_FAKE = FakeDiscord()  # only its payload builders are used: the shapes Discord sends
_snowflakes = st.integers(min_value=1, max_value=2**63 - 1)


def _state() -> Any:
    client = discord.Client(intents=discord.Intents.default())
    state = client._connection  # noqa: SLF001 - discord.py's parser state, as the gateway would drive it
    state.user = discord.ClientUser(state=state, data=_FAKE._bot_user())  # noqa: SLF001
    return state


_STATE = _state()


@fuzz(300)
@given(text=adversarial_text(), user=_snowflakes, channel=_snowflakes, channel_type=st.sampled_from([0, 5, 10, 11, 12, 15]),
       kind=st.sampled_from([2, 3]))
def test_discord_interactions_translate(text: str, user: int, channel: int, channel_type: int, kind: int) -> None:
    data = {"id": "1", "name": "ask", "type": 1, "options": [{"name": "question", "type": 3, "value": text}]}
    if kind == 3:
        data = {"custom_id": text[:100], "component_type": 2}
    payload = _FAKE._interaction(kind, data, channel)  # noqa: SLF001
    payload["member"]["user"] = {**_FAKE.user, "id": str(user)}
    payload["channel"].update({"type": channel_type, "name": text[:100] or "x", "position": 0,
                               "permission_overwrites": [], "nsfw": False, "parent_id": str(channel), "owner_id": str(user),
                               "message_count": 0, "member_count": 1, "rate_limit_per_user": 0,
                               "thread_metadata": {"archived": False, "auto_archive_duration": 60,
                                                   "archive_timestamp": "2026-01-01T00:00:00+00:00", "locked": False}})
    interaction = discord.Interaction(data=payload, state=_STATE)
    threaded = discord_inbound.in_thread(interaction.channel)
    key = (discord_inbound.conversation_key(interaction.channel_id or 0) if threaded
           else f"{discord_inbound.PLATFORM}:reply-to:{interaction.id}")
    _check_question(_asked(discord_inbound.PLATFORM, " ".join(text.split()), str(interaction.user.id), key))


@fuzz(300)
@given(content=adversarial_text(), author=_snowflakes, mentioned=st.lists(_snowflakes, max_size=3),
       bot_mentioned=st.booleans())
def test_discord_messages_translate(content: str, author: int, mentioned: list[int], bot_mentioned: bool) -> None:
    users = [{**_FAKE.user, "id": str(m)} for m in mentioned] + ([_FAKE._bot_user()] if bot_mentioned else [])  # noqa: SLF001
    payload = _FAKE._message(_FAKE.channel_id, {"content": content}, author={**_FAKE.user, "id": str(author)},  # noqa: SLF001
                             mentions=users)
    message = discord.Message(state=_STATE, channel=discord.PartialMessageable(state=_STATE, id=_FAKE.channel_id),
                              data=payload)
    assert discord_inbound.mentions_bot(message, _FAKE.bot_user_id) == bot_mentioned
    _check_inbound(discord_inbound.to_inbound(message, _FAKE.bot_user_id))
