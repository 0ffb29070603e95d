"""The web chat's routes: translate the request, hand it to the router, core or paper service, render.

Nothing here decides what an answer says or how papers are added: the `Router` opens a
question's conversation (the same rule as Slack's `/ask`), `Citewise` answers,
`PaperService` grows the store (the same verbs, limits and replies as `/paper add`), and
`Threads` reads conversations back. Every route is named `web.*`, which is how the
middleware tells them from Slack's routes on a shared server.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

from aiohttp import web

from adapters.web import inbound
from adapters.web.errors import reply, wants_json
from adapters.web.markup import Safe
from adapters.web.pages import (
    added_main,
    home_main,
    login_main,
    page,
    papers_main,
    store_main,
    thread_main,
    thread_path,
)
from adapters.web.render import answer_anchor, render_hits, render_paper_reply, render_thread_item, render_turn
from adapters.web.security import Guard
from bot.core import Citewise
from bot.models import AnswerStatus, PaperReply, new_id
from bot.papers import PaperService
from bot.presenter import paper_reply_text
from bot.router import Router
from bot.threads import Threads, ThreadSummary

__all__ = ["WebChat", "STATIC"]

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
_ANSWER_ID = re.compile(r"^[0-9a-f]{16}$")
_VOTES = ("up", "down")
_SEARCH_K = 20
_MAX_QUERY = 300
_LOGIN_DELAY = 0.25  # seconds after a wrong token: slows guessing without bothering a typo


class WebChat:
    """One instance per server; handlers are bound methods so tests can build the app directly."""

    def __init__(self, core: Citewise, papers: PaperService, router: Router, guard: Guard) -> None:
        self.core = core
        self.paper_service = papers
        self.router = router
        self.guard = guard
        self.threads = Threads.of(core, prefix=inbound.PREFIX)

    def add_routes(self, app: web.Application, *, health: bool = True) -> None:
        router = app.router
        router.add_get("/", self.home, name="web.home")
        router.add_get("/c/{key}", self.thread, name="web.thread")
        router.add_post("/ask", self.ask, name="web.ask")
        router.add_post("/answers/{answer}/feedback", self.feedback, name="web.feedback")
        router.add_get("/papers", self.papers, name="web.papers")
        router.add_post("/papers/add", self.add_references, name="web.add")
        router.add_post("/papers/upload", self.upload, name="web.upload")
        router.add_get("/store", self.store, name="web.store")
        login = router.add_resource("/login", name="web.login")
        login.add_route("GET", self.login_page)
        login.add_route("POST", self.login)
        router.add_static("/static", STATIC, name="web.static", append_version=False)
        if health:  # a shared server already has Slack's /healthz
            router.add_get("/healthz", self.health, name="web.health")

    # ── pages ─────────────────────────────────────────────────────────────
    async def _page(self, request: web.Request, title: str, main: Safe, *, papers: int, current: str | None = None,
                    nav: str = "", status: int = 200) -> web.Response:
        recent = await self.threads.recent()
        threads = [(inbound.thread_key(t.id), t) for t in recent]
        body = page(title, main, csrf=Guard.csrf(request), papers=papers, threads=threads, current=current, nav=nav)
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    async def home(self, request: web.Request) -> web.Response:
        papers = await self.core.paper_count()
        return await self._page(request, "", home_main(csrf=Guard.csrf(request), papers=papers), papers=papers, nav="ask")

    async def thread(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        turns = await self.threads.thread(inbound.conversation_id(key), Guard.user(request)) if inbound.is_thread_key(key) else []
        if not turns:
            raise web.HTTPNotFound(text="There is no such conversation here.")
        csrf = Guard.csrf(request)
        shown = [render_turn(t.turn.question, t.answer, vote=t.vote, csrf=csrf) for t in turns]
        papers = await self.core.paper_count()
        return await self._page(request, turns[0].turn.question[:60], thread_main(shown, key=key, csrf=csrf, papers=papers),
                                papers=papers, current=key)

    async def papers(self, request: web.Request) -> web.Response:
        query = request.query.get("q", "").strip()[:_MAX_QUERY]
        return await self._papers_page(request, query=query)

    async def _papers_page(self, request: web.Request, *, query: str = "", added: PaperReply | None = None) -> web.Response:
        hits = await self.core.search(query, _SEARCH_K) if query else []
        shown = added_main(render_paper_reply(added), ok=bool(added.added)) if added is not None else None
        main = papers_main(csrf=Guard.csrf(request), query=query, results=render_hits(query, hits), reply=shown)
        status = 200 if added is None or added.ok else 422
        return await self._page(request, "Papers", main, papers=await self.core.paper_count(), nav="papers",
                                status=status)

    async def store(self, request: web.Request) -> web.Response:
        stats = await asyncio.to_thread(self.core.store.stats)
        return await self._page(request, "Store", store_main(stats), papers=await self.core.paper_count(), nav="store")

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    # ── asking and voting ─────────────────────────────────────────────────
    async def ask(self, request: web.Request) -> web.Response:
        form = await request.post()
        asked = inbound.to_ask(form)
        if asked is None:
            raise web.HTTPBadRequest(text="That thread does not exist here; start a new question.")
        text, place = asked
        routed = await self.router.ask(platform=inbound.PLATFORM, text=text, user=Guard.user(request),
                                       conversation_key=place, message_id=new_id())
        question = routed.question
        new_thread = not form.get("thread")
        answer = await self.core.answer(question)
        key = inbound.thread_key(question.conversation_id)
        saved = answer.status is not AnswerStatus.invalid_question
        if not wants_json(request):
            if not saved:
                return reply(request, 400, answer.message)
            return _see_other(f"{thread_path(key)}#{answer_anchor(answer.id)}")
        data: dict[str, object] = {
            "ok": True,
            "saved": saved,
            "thread": key,
            "url": thread_path(key),
            "html": render_turn(question.text, answer, vote=None, csrf=Guard.csrf(request)),
        }
        if saved and new_thread:
            summary = ThreadSummary(id=question.conversation_id, title=question.text, turns=1,
                                    last_asked_at=question.asked_at)
            data["thread_item"] = render_thread_item(summary, path=thread_path(key), current=True)
        return web.json_response(data)

    async def feedback(self, request: web.Request) -> web.Response:
        answer_id = request.match_info["answer"]
        value = (await request.post()).get("value")
        if value not in _VOTES or not _ANSWER_ID.match(answer_id):
            raise web.HTTPBadRequest(text="That vote was not understood.")
        answer = await self.core.stored_answer(answer_id)
        if answer is None:
            raise web.HTTPNotFound(text="That answer is no longer in the store.")
        await self.core.record_feedback(answer_id, Guard.user(request), str(value), inbound.PLATFORM)
        if wants_json(request):
            return web.json_response({"ok": True, "vote": value})
        if answer.conversation_id.startswith(inbound.PREFIX):
            return _see_other(f"{thread_path(inbound.thread_key(answer.conversation_id))}#{answer_anchor(answer_id)}")
        return _see_other("/")

    # ── growing the store ─────────────────────────────────────────────────
    async def add_references(self, request: web.Request) -> web.Response:
        refs = inbound.references(await request.post())
        if not refs:
            added = _error("Give a DOI, arXiv id or link.")
        else:
            added = await self.paper_service.add(refs, _adder(request))
        return await self._papers_page(request, added=added)

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        accepted, refused = inbound.uploads(form.getall("files", []))
        if not accepted and not refused:
            added = _error("Choose a .bib, .ris, .pdf, .jsonl or .csv file to upload.")
        else:
            added = await self.paper_service.add_shared("", _adder(request), accepted, refused, shared=True)
            if refused and not accepted:
                added.ok = False
        logger.info("web upload: %d files read, %d refused", len(accepted), len(refused))
        return await self._papers_page(request, added=added)

    # ── the access token ──────────────────────────────────────────────────
    async def login_page(self, request: web.Request) -> web.Response:
        if not self.guard.needs_login:
            return _see_other("/")
        main = login_main(csrf=Guard.csrf(request), failed=False, next_path=_local(request.query.get("next", "/")))
        return web.Response(text=page("Access token", main, csrf=Guard.csrf(request)), content_type="text/html",
                            charset="utf-8")

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        token, next_path = form.get("token"), _local(str(form.get("next") or "/"))
        if not self.guard.needs_login:
            return _see_other(next_path)
        if isinstance(token, str) and self.guard.token_matches(token):
            response = _see_other(next_path)
            self.guard.remember_login(response, request)
            return response
        logger.warning("wrong web token from %s", request.remote)
        await asyncio.sleep(_LOGIN_DELAY)
        main = login_main(csrf=Guard.csrf(request), failed=True, next_path=next_path)
        return web.Response(text=page("Access token", main, csrf=Guard.csrf(request)), status=401,
                            content_type="text/html", charset="utf-8")


def _error(message: str) -> PaperReply:
    reply = PaperReply(kind="error", ok=False, message=message)
    reply.text = paper_reply_text(reply)
    return reply


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _local(path: str) -> str:
    """Only a path on this site is a place to go back to after logging in."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/"


def _adder(request: web.Request) -> str:
    """Who added a paper, as the store records it (like `slack:U123`)."""
    return Guard.user(request)

