"""The Bolt app: listeners that acknowledge at once and answer in the background.

Every listener returns within milliseconds (Bolt acks events itself; actions and
commands call `ack()` first), then the work runs in a tracked task, so a slow
answer never costs Slack's 3-second deadline and `stop()` can wait for it.
What to do with a post (and dropping Slack's retries and its `app_mention` +
`message` pair for one mention) is `bot.router`'s decision; this module translates
and renders.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncAssistant
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryIntervalCalculator
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import inbound, render
from adapters.slack.drafts import placeholder_drafts
from adapters.slack.files import SharedFile, download_files
from adapters.slack.stream import SlackStream
from bot import messages
from bot.compose import build_paper_service, build_router
from bot.core import Citewise
from bot.models import Answer, PaperReply, Question, UploadedFile
from bot.papers import PaperService
from bot.pipeline.synthesize.llm import OnDraft
from bot.router import AddPapers, Ask, Decision, Ignore, Router, Search
from bot.settings import Settings
from knowledge.tenancy import team_scope

__all__ = ["SlackBot", "build_web_client", "build_app", "read_reply_place", "reply_place"]

logger = logging.getLogger(__name__)

SUGGESTED_PROMPTS = [
    {"title": "Ask about evidence", "message": "Does vitamin D supplementation prevent fractures?"},
    {"title": "Compare findings", "message": "What do the papers say about aspirin and stroke?"},
    {"title": "Find limitations", "message": "What are the limitations of these studies?"},
]
_RETRIES = 3


def build_web_client(settings: Settings, *, retry_interval: RetryIntervalCalculator | None = None,
                     token: str | None = None) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After) and retries 5xx and network errors.

    `retry_interval` replaces slack_sdk's exponential backoff between 5xx/network retries
    (a test passes a zero interval rather than sleeping for real). `token` is one
    workspace's bot token (many workspaces); by default the single workspace's.
    """
    backoff: dict[str, Any] = {} if retry_interval is None else {"interval_calculator": retry_interval}
    if token is None and settings.slack_bot_token:
        token = settings.slack_bot_token.get_secret_value()
    kwargs: dict[str, Any] = {}
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    return AsyncWebClient(
        token=token,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=_RETRIES, **backoff),
            AsyncRateLimitErrorRetryHandler(max_retry_count=_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=_RETRIES, **backoff),
        ],
        **kwargs,
    )


class SlackBot:
    """Translates Slack events into questions for the core and renders its answers back."""

    def __init__(self, settings: Settings, core: Citewise, *, papers: PaperService | None = None,
                 router: Router | None = None) -> None:
        self.settings = settings
        self.core = core
        self.papers = papers or build_paper_service(core)
        self.router = router or build_router(core, answer_bots=settings.slack_answer_bots)
        self._tasks: set[asyncio.Task[None]] = set()

    # ── background work ───────────────────────────────────────────────────
    def spawn(self, work: Coroutine[Any, Any, None], *, what: str, team: str = "") -> None:
        """Run `work` after the ack, for `team` (its papers, its answers); failures are logged here."""
        task = asyncio.get_running_loop().create_task(self._guarded(work, what, team), name=f"slack:{what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(work: Awaitable[None], what: str, team: str) -> None:
        try:
            with team_scope(team):
                await work
        except Exception:  # noqa: BLE001 - the adapter's edge: log, never crash the loop
            logger.exception("slack %s failed", what)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let answers in flight finish (shutdown), cancelling what outlives `timeout`."""
        pending = set(self._tasks)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            task.cancel()

    # ── posts: mentions, thread replies, DMs ──────────────────────────────
    async def on_event(self, body: dict[str, Any], context: dict[str, Any], client: AsyncWebClient) -> None:
        """Route the post — and so claim it — before Slack has its ack; answer in the background.

        The app runs listeners before responding (`process_before_response`), so by the time
        Slack sees the 200 the delivery is claimed and a question held: a worker killed from
        then on leaves it to another (bot/recovery.py). Killed earlier, Slack retries it.
        """
        team = inbound.team_of(body)
        post = inbound.to_post(body)
        if post is None:
            return  # an edit, a join, a deletion: no new words
        mentioned = (body.get("event") or {}).get("type") == "app_mention"
        message = inbound.to_inbound(post, bot_user_id=context.get("bot_user_id"), mentioned=mentioned,
                                     event_id=body.get("event_id"))
        with team_scope(team):
            decision = await self.router.route(message, reply_to=reply_place(post.channel, post.thread))
        if not isinstance(decision, Ignore):
            self.spawn(self._act(client, decision, post.channel, post.thread, post.files), what="event", team=team)

    async def _act(self, client: AsyncWebClient, decision: Decision, channel: str, thread: str,
                   files: tuple[SharedFile, ...] = ()) -> None:
        """Carry out the router's decision in the post's thread."""
        if isinstance(decision, Ignore):
            return
        if isinstance(decision, Ask):
            await self.answer_asked(client, decision, channel=channel, thread_ts=thread)
        elif isinstance(decision, Search):
            await self._post_paper_reply(client, channel, thread, await self.papers.paper_search(decision.query))
        else:
            await self._grow_store(client, channel, thread, decision, files)

    async def _grow_store(self, client: AsyncWebClient, channel: str, thread: str, decision: AddPapers,
                          files: tuple[SharedFile, ...]) -> None:
        """Files shared with the bot (and `paper …` mentions) add papers; the reply says what landed."""
        uploads: list[UploadedFile] = []
        problems: list[str] = []
        if files:
            # The workspace's own token (Bolt's client for this event), so many workspaces work too.
            token = client.token or (self.settings.slack_bot_token.get_secret_value()
                                     if self.settings.slack_bot_token else "")
            uploads, problems = await download_files(files, token=token, api_url=self.settings.slack_api_url)
        reply = await self.papers.add_shared(decision.command, decision.added_by, uploads, problems, shared=bool(files))
        await self._post_paper_reply(client, channel, thread, reply)

    @staticmethod
    async def _post_paper_reply(client: AsyncWebClient, channel: str, thread: str, reply: PaperReply) -> None:
        await client.chat_postMessage(channel=channel, thread_ts=thread, text=render.escape(reply.text)[:3000],
                                      blocks=render.render_paper_reply(reply), unfurl_links=False, unfurl_media=False)

    # ── /paper ────────────────────────────────────────────────────────────
    async def on_paper(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        self.spawn(self._paper(command, respond), what="paper", team=inbound.team_of(command))

    async def _paper(self, command: dict[str, Any], respond: Any) -> None:
        """Additions are told to the channel (the store is shared); searches and help only to the asker."""
        reply = await self.papers.handle_paper_command(command.get("text") or "", f"slack:{command.get('user_id') or ''}")
        public = reply.kind == "added" and bool(reply.added)
        await respond(text=render.escape(reply.text)[:3000], blocks=render.render_paper_reply(reply),
                      response_type="in_channel" if public else "ephemeral")

    async def answer_asked(self, client: AsyncWebClient, ask: Ask, *, channel: str, thread_ts: str) -> None:
        """Answer in the thread; a question taken over from a stopped worker is finished where it left it:
        in its placeholder (noted on the claim, or found in the thread by the question id), with the
        answer it recorded if it got that far."""
        held = ask.resumed
        if held is None:
            await self.answer_in_thread(client, ask.question, channel=channel, thread_ts=thread_ts)
            return
        recorded = await self.core.stored_answer(held.answer_id) if held.answer_id else None
        placeholder = held.reply_ref or await _find_placeholder(client, channel, thread_ts, ask.question.id)
        if placeholder is not None and held.reply_ref is None:
            await self.router.note_reply(ask.question, placeholder)
        await self.answer_in_thread(client, ask.question, channel=channel, thread_ts=thread_ts,
                                    placeholder_ts=placeholder, recorded=recorded)

    async def answer_in_thread(self, client: AsyncWebClient, question: Question, *, channel: str, thread_ts: str,
                               placeholder_ts: str | None = None, recorded: Answer | None = None) -> None:
        """Placeholder first (a visible sign of work), then the answer replaces it; the question is then finished.

        `placeholder_ts` is one already in the thread, `recorded` an answer already worked out
        (a question resumed from a stopped worker: `answer_asked`).
        """
        if placeholder_ts is None:
            placeholder_ts = await self._post_placeholder(client, channel, thread_ts, question.id)
            await self.router.note_reply(question, placeholder_ts)
        if recorded is not None:
            blocks, text = render.render_answer(recorded), render.fallback_text(recorded)
        else:
            drafts = placeholder_drafts(client, channel=channel, ts=placeholder_ts) if self.core.writer else None
            blocks, text = await self._reply(question, on_draft=drafts)
        try:
            await client.chat_update(channel=channel, ts=placeholder_ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error == "message_not_found":  # the placeholder was deleted meanwhile: answer in a new message
                await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks,
                                              unfurl_links=False, unfurl_media=False)
            else:
                # Slack refused the answer itself (after retries): apologise rather than leave the placeholder.
                logger.error("slack refused answer question=%s error=%s", question.id, error)
                await client.chat_update(channel=channel, ts=placeholder_ts, text=messages.apology(question.id),
                                         blocks=render.render_apology(question.id))
        await self.router.finish(question)

    async def _post_placeholder(self, client: AsyncWebClient, channel: str, thread_ts: str, question_id: str) -> str:
        papers = await self.core.paper_count()
        placeholder = await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=render.searching_status(papers),
            blocks=render.render_placeholder(papers, question_id), unfurl_links=False, unfurl_media=False,
        )
        return str(placeholder["ts"])

    async def _reply(self, question: Question, *, on_draft: OnDraft | None = None) -> tuple[list[dict], str]:
        """The rendered answer, or an apology after logging a failure in the core."""
        try:
            answer = await self.core.answer(question, on_draft=on_draft)
        except Exception:  # noqa: BLE001 - one catch-all per adapter edge
            logger.exception("slack answer failed question=%s conversation=%s", question.id, question.conversation_id)
            return render.render_apology(question.id), messages.apology(question.id)
        return render.render_answer(answer), render.fallback_text(answer)

    # ── assistant pane ────────────────────────────────────────────────────
    async def on_thread_started(self, set_suggested_prompts: Any) -> None:
        self.spawn(set_suggested_prompts(prompts=SUGGESTED_PROMPTS, title="Ask about your team's papers"),
                   what="assistant-start")

    async def on_assistant_message(
        self, body: dict[str, Any], payload: dict[str, Any], context: dict[str, Any], client: AsyncWebClient,
        set_status: Any, set_title: Any,
    ) -> None:
        """Routed (claimed) before the ack, like a post (`on_event`); answered in the background."""
        team = inbound.team_of(body)
        channel, thread = payload["channel"], payload["thread_ts"]
        message = inbound.assistant_to_inbound(body, payload, bot_user_id=context.get("bot_user_id"))
        with team_scope(team):
            decision = await self.router.route(message, reply_to=reply_place(channel, thread))
        if not isinstance(decision, Ignore):
            self.spawn(self._assistant_answer(decision, body, payload, client, set_status, set_title),
                       what="assistant", team=team)

    async def _assistant_answer(
        self, decision: Decision, body: dict[str, Any], payload: dict[str, Any], client: AsyncWebClient,
        set_status: Any, set_title: Any,
    ) -> None:
        channel, thread = payload["channel"], payload["thread_ts"]
        if not isinstance(decision, Ask) or decision.resumed is not None:
            await self._act(client, decision, channel, thread)
            return
        if not decision.follow_up:
            await _best_effort(set_title(decision.question.text[:100] or "Question"), "set title")
        await _best_effort(set_status(render.searching_status(await self.core.paper_count())), "set status")
        stream = SlackStream(client, channel=channel, thread_ts=thread, user=payload.get("user") or "",
                             team=str(body.get("team_id") or "")) if self.core.writer else None
        blocks, fallback = await self._reply(decision.question, on_draft=stream.hook if stream else None)
        if stream is None or not await stream.finish(text=fallback, blocks=blocks):
            await client.chat_postMessage(channel=channel, thread_ts=thread, text=fallback,
                                          blocks=blocks, unfurl_links=False, unfurl_media=False)
        await self.router.finish(decision.question)

    # ── /ask ──────────────────────────────────────────────────────────────
    async def on_ask(self, ack: Any, command: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        self.spawn(self._ask(command, client, respond), what="ask", team=inbound.team_of(command))

    async def _ask(self, command: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        private, raw = inbound.parse_ask(command.get("text") or "")
        text = inbound.question_text(raw)
        if not text:
            await respond(text=messages.ASK_USAGE, response_type="ephemeral")
            return
        team, channel, user = command.get("team_id") or "", command["channel_id"], command.get("user_id") or ""
        if private:
            key = inbound.conversation_key(team, channel, f"private-{command.get('trigger_id') or user}")
            private_ask = await self.router.ask(platform=inbound.PLATFORM, text=text, user=user, conversation_key=key,
                                                message_id=key)
            blocks, fallback = await self._reply(private_ask.question)
            await respond(text=fallback, blocks=blocks, response_type="ephemeral")
            return
        try:
            root = await client.chat_postMessage(
                channel=channel, text=f"Question: {render.escape(text)}",
                blocks=[*render.render_notice(f"*Question:* {render.escape(text)}"),
                        {"type": "context", "elements": [{"type": "mrkdwn", "text": "asked with `/ask`"}]}],
                unfurl_links=False, unfurl_media=False,
            )
        except SlackApiError as exc:
            logger.info("slack /ask cannot post in %s: %s", channel, exc.response.get("error"))
            await respond(text=messages.CANNOT_POST, response_type="ephemeral")
            return
        key = inbound.conversation_key(team, channel, root["ts"])
        ask = await self.router.ask(platform=inbound.PLATFORM, text=text, user=user, conversation_key=key,
                                    message_id=key, reply_to=reply_place(channel, root["ts"]))
        await self.answer_in_thread(client, ask.question, channel=channel, thread_ts=root["ts"])

    # ── buttons ───────────────────────────────────────────────────────────
    async def on_sources(self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                         respond: Any) -> None:
        await ack()
        self.spawn(self._toggle_sources(body, action, client, respond), what="sources", team=inbound.team_of(body))

    async def _toggle_sources(self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                              respond: Any) -> None:
        """Re-render from the stored answer (so it works after a restart) and edit in place."""
        answer = await self.core.stored_answer(action.get("value") or "")
        if answer is None:
            await respond(text=messages.ANSWER_GONE, response_type="ephemeral",
                          replace_original=False)
            return
        expanded = action.get("action_id") == render.SHOW_SOURCES
        blocks, text = render.render_answer(answer, expanded=expanded), render.fallback_text(answer)
        container = body.get("container") or {}
        if container.get("is_ephemeral"):
            await respond(text=text, blocks=blocks, replace_original=True)
            return
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
        if not channel or not ts:
            logger.warning("slack sources action without a message to edit (answer %s)", answer.id)
            return
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    async def on_feedback(self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        self.spawn(self._feedback(body, action, client), what="feedback", team=inbound.team_of(body))

    async def _feedback(self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        value = "up" if action.get("action_id") == render.FEEDBACK_UP else "down"
        user = (body.get("user") or {}).get("id") or ""
        await self.core.record_feedback(action.get("value") or "", user, value, "slack")
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        if channel and not container.get("is_ephemeral"):
            thread_ts = (body.get("message") or {}).get("thread_ts")
            await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                            text=messages.FEEDBACK_THANKS)


async def _find_placeholder(client: AsyncWebClient, channel: str, thread: str, question_id: str) -> str | None:
    """The placeholder a stopped worker posted for `question_id` but did not live to note, if the thread shows one."""
    try:
        replies = await client.conversations_replies(channel=channel, ts=thread, limit=200)
    except SlackApiError as exc:  # e.g. a missing history scope: a fresh placeholder then
        data = exc.response.data
        error = data.get("error") if isinstance(data, dict) else f"HTTP {exc.response.status_code}"
        logger.info("slack cannot read thread %s in %s: %s", thread, channel, error)
        return None
    messages = replies.get("messages")
    return render.placeholder_in(messages, question_id) if isinstance(messages, list) else None


def reply_place(channel: str, thread_ts: str) -> str:
    """Where a held question's answer goes, as the claim keeps it (read back by `read_reply_place`)."""
    return json.dumps({"channel": channel, "thread": thread_ts})


def read_reply_place(reply_to: str) -> tuple[str, str] | None:
    """The (channel, thread) a claim's `reply_place` names; None when it cannot be read."""
    try:
        place = json.loads(reply_to)
        return str(place["channel"]), str(place["thread"])
    except (ValueError, KeyError, TypeError):
        return None


async def _best_effort(call: Awaitable[Any], what: str) -> None:
    """Cosmetic calls (pane title, status) must never stop the answer itself."""
    try:
        await call
    except SlackApiError as exc:
        logger.info("slack could not %s: %s", what, exc.response.get("error"))


def build_app(settings: Settings, bot: SlackBot, client: AsyncWebClient, *, verify_requests: bool,
              oauth_flow: AsyncOAuthFlow | None = None) -> AsyncApp:
    """Wire the listeners; request verification is on for HTTP mode (Socket Mode needs none).

    With `oauth_flow` (many workspaces) Bolt finds each event's bot token in the installation
    store, and an uninstall or token revocation deletes the workspace's installation.
    """
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    # Listeners run before Bolt responds, so an event is claimed before Slack has its ack (`on_event`);
    # every listener returns within milliseconds and leaves the answer to a background task.
    app = AsyncApp(client=client, signing_secret=secret, request_verification_enabled=verify_requests,
                   name="citewise", oauth_flow=oauth_flow, process_before_response=True)
    if oauth_flow is not None:
        app.enable_token_revocation_listeners()
    assistant = AsyncAssistant()
    assistant.thread_started(bot.on_thread_started)
    assistant.user_message(bot.on_assistant_message)
    app.assistant(assistant)
    app.event("app_mention")(bot.on_event)
    app.event("message")(bot.on_event)
    app.command("/ask")(bot.on_ask)
    app.command("/paper")(bot.on_paper)
    app.action(render.SHOW_SOURCES)(bot.on_sources)
    app.action(render.HIDE_SOURCES)(bot.on_sources)
    app.action(render.FEEDBACK_UP)(bot.on_feedback)
    app.action(render.FEEDBACK_DOWN)(bot.on_feedback)
    return app
