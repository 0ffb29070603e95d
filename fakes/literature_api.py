"""OpenAlex, arXiv and Crossref on 127.0.0.1 (port 0), answering in the shapes the real APIs use.

The server runs its own event loop in a thread, so both async tests and the
blocking CLI (which calls `asyncio.run`) can use it. Faults are scripted per
source (`fail("openalex", 429, 500)`), and every request is recorded with its
query and headers so tests assert on what the "API" saw.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from fakes.loopback import serve_on_loopback

__all__ = ["LiteratureAPI", "make_work", "Fault", "FIXTURES", "load_fixture_works"]

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"  # recorded-shape, written by us (see its README)


def make_work(
    work_id: str,
    title: str,
    abstract: str | None,
    *,
    doi: str | None = None,
    year: int | None = 2020,
    authors: tuple[str, ...] = ("A. Author",),
    venue: str | None = "Journal of Tests",
    pmid: str | None = None,
) -> dict:
    """An OpenAlex work object with the documented fields, abstract as an inverted index."""
    inverted: dict[str, list[int]] | None = None
    if abstract is not None:
        inverted = {}
        for position, word in enumerate(abstract.split()):
            inverted.setdefault(word, []).append(position)
    ids: dict[str, str] = {"openalex": f"https://openalex.org/{work_id}"}
    if doi:
        ids["doi"] = f"https://doi.org/{doi}"
    if pmid:
        ids["pmid"] = f"https://pubmed.ncbi.nlm.nih.gov/{pmid}"
    return {
        "id": f"https://openalex.org/{work_id}",
        "doi": f"https://doi.org/{doi}" if doi else None,
        "title": title,
        "display_name": title,
        "publication_year": year,
        "ids": ids,
        "primary_location": {
            "landing_page_url": f"https://doi.org/{doi}" if doi else None,
            "source": {"display_name": venue, "type": "journal"} if venue else None,
        },
        "authorships": [
            {"author_position": "first" if i == 0 else "middle", "author": {"display_name": name}}
            for i, name in enumerate(authors)
        ],
        "abstract_inverted_index": inverted,
    }


@dataclass
class Fault:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # replaces the normal body (malformed data)
    delay: float = 0.0  # seconds before answering (timeouts)


@dataclass
class Seen:
    source: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class LiteratureAPI:
    """The three fakes behind one loopback server; `with LiteratureAPI() as api: api.url`."""

    def __init__(self) -> None:
        self.works: list[dict] = []
        self.crossref: dict[str, dict] = {}
        self.arxiv_feed = (FIXTURES / "arxiv_query_id_list_1601.00001.xml").read_text(encoding="utf-8")
        self.seen: list[Seen] = []
        self._faults: dict[str, list[Fault]] = {}
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    # ── set-up ────────────────────────────────────────────────────────────
    def fail(self, source: str, *faults: Fault | int) -> None:
        """The next requests to `source` get these faults in order, then normal answers."""
        queue = self._faults.setdefault(source, [])
        queue += [f if isinstance(f, Fault) else Fault(status=f) for f in faults]

    def requests(self, source: str) -> list[Seen]:
        return [s for s in self.seen if s.source == source]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def urls(self) -> dict[str, str]:
        """Settings overrides pointing every source here."""
        return {
            "openalex_url": f"{self.url}/openalex",
            "arxiv_url": f"{self.url}/arxiv/api/query",
            "crossref_url": f"{self.url}/crossref",
        }

    def __enter__(self) -> LiteratureAPI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/openalex/works", self._openalex_search)
        app.router.add_get("/openalex/works/{key:.+}", self._openalex_work)
        app.router.add_get("/arxiv/api/query", self._arxiv)
        app.router.add_get("/crossref/works/{doi:.+}", self._crossref)
        self._runner, self.port = await serve_on_loopback(app, shutdown_timeout=0.5)

    # ── plumbing ──────────────────────────────────────────────────────────
    async def _fault(self, source: str, request: web.Request) -> web.Response | None:
        self.seen.append(Seen(source, request.path, dict(request.query), dict(request.headers)))
        queue = self._faults.get(source)
        if not queue:
            return None
        fault = queue.pop(0)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.body is not None:
            return web.Response(status=fault.status, text=fault.body, headers=fault.headers, content_type="application/json")
        if fault.status != 200:
            return web.json_response({"error": "scripted fault"}, status=fault.status, headers=fault.headers)
        return None

    # ── OpenAlex ──────────────────────────────────────────────────────────
    def _find(self, key: str) -> dict | None:
        key = key.lower()
        for work in self.works:
            ids = {v.lower().rstrip("/").rsplit("/", 1)[-1] for v in work.get("ids", {}).values()}
            doi = (work.get("doi") or "").lower().removeprefix("https://doi.org/")
            if key.startswith("doi:") and doi == key[4:]:
                return work
            if key.startswith("pmid:") and key[5:] in ids:
                return work
            if key in ids:
                return work
        return None

    async def _openalex_search(self, request: web.Request) -> web.Response:
        fault = await self._fault("openalex", request)
        if fault is not None:
            return fault
        words = request.query.get("search", "").lower().split()
        since = request.query.get("filter", "")
        matches = []
        for work in self.works:
            text = (work["title"] + " " + " ".join((work.get("abstract_inverted_index") or {}).keys())).lower()
            if words and not any(w in text for w in words):
                continue
            if since.startswith("from_publication_date:") and (work.get("publication_year") or 0) < int(since[22:26]):
                continue
            matches.append(work)
        per_page = int(request.query.get("per-page", request.query.get("per_page", "25")))
        cursor = request.query.get("cursor", "*")
        start = 0 if cursor == "*" else int(cursor.removeprefix("at:"))
        page = matches[start : start + per_page]
        following = start + per_page
        meta = {
            "count": len(matches),
            "db_response_time_ms": 3,
            "page": None,
            "per_page": per_page,
            "next_cursor": f"at:{following}" if page and following < len(matches) else None,
            "groups_count": None,
        }
        return web.json_response({"meta": meta, "results": page, "group_by": []})

    async def _openalex_work(self, request: web.Request) -> web.Response:
        fault = await self._fault("openalex", request)
        if fault is not None:
            return fault
        work = self._find(request.match_info["key"])
        if work is None:
            return web.json_response({"error": "Not Found"}, status=404)
        return web.json_response(work)

    # ── arXiv ─────────────────────────────────────────────────────────────
    async def _arxiv(self, request: web.Request) -> web.Response:
        fault = await self._fault("arxiv", request)
        if fault is not None:
            return fault
        ids = [i for i in request.query.get("id_list", "").split(",") if i]
        query = request.query.get("search_query", "").lower()
        start = int(request.query.get("start", "0"))
        hit = (not ids and "molecular" in query and start == 0) or "1601.00001" in ids
        feed = self.arxiv_feed if hit else _empty_feed()
        return web.Response(text=feed, content_type="application/atom+xml")

    # ── Crossref ──────────────────────────────────────────────────────────
    async def _crossref(self, request: web.Request) -> web.Response:
        fault = await self._fault("crossref", request)
        if fault is not None:
            return fault
        doi = request.match_info["doi"].lower()
        message = self.crossref.get(doi)
        if message is None:
            return web.Response(status=404, text="Resource not found.")
        return web.json_response({"status": "ok", "message-type": "work", "message-version": "1.0.0", "message": message})


def _empty_feed() -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>ArXiv Query</title>"
        '<opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:totalResults>'
        "</feed>"
    )


def load_fixture_works() -> list[dict]:
    """The five OpenAlex-shaped works in tests/fixtures."""
    return json.loads((FIXTURES / "openalex_works_search.json").read_text(encoding="utf-8"))["results"]
