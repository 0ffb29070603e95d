"""The web chat's handlers through aiohttp's test client, over a real store (tests/fixtures/web)."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.cli import main
from adapters.run import enabled_adapters
from adapters.web import WebAdapter, WebConfigError, check_bind
from adapters.web.security import CSP
from bot.compose import build_citewise
from bot.core import Citewise
from bot.models import Answer, Question, Turn
from bot.settings import Settings
from tests.web_helpers import BIB, csrf_in, fill_store

ROOT = Path(__file__).resolve().parents[1]
JSON = {"Accept": "application/json"}
TEA = "Does green tea help weight loss?"


@pytest.fixture
def web_db(tmp_path: Path) -> Path:
    db = tmp_path / "web.db"
    fill_store(db)
    return db


@pytest.fixture
def web_settings(web_db: Path) -> Settings:
    return Settings(db_path=web_db, port=0)


@pytest.fixture
async def web_core(web_settings: Settings) -> AsyncIterator[Citewise]:
    core = build_citewise(web_settings)
    yield core
    await core.aclose()


async def _serve(adapter: WebAdapter) -> TestClient:
    client = TestClient(TestServer(adapter.build_app()))
    await client.start_server()
    return client


@pytest.fixture
async def client(web_settings: Settings, web_core: Citewise) -> AsyncIterator[TestClient]:
    adapter = WebAdapter(web_settings, web_core)
    client = await _serve(adapter)
    yield client
    await client.close()
    await adapter.stop()


async def _token(client: TestClient) -> str:
    response = await client.get("/")
    return csrf_in(await response.text())


async def _ask(client: TestClient, question: str, *, thread: str = "") -> dict:
    token = await _token(client)
    response = await client.post("/ask", data={"question": question, "thread": thread, "csrf": token}, headers=JSON)
    assert response.status == 200
    return await response.json()


# ── pages ─────────────────────────────────────────────────────────────────
async def test_home_page_has_the_ask_box_a_strict_csp_and_a_csrf_cookie(client: TestClient) -> None:
    response = await client.get("/")
    page = await response.text()
    assert response.status == 200 and response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == CSP and "script-src 'self'" in CSP
    assert "unsafe-inline" not in CSP and response.headers["X-Frame-Options"] == "DENY"
    assert "citewise_csrf" in response.cookies and response.cookies["citewise_csrf"]["samesite"] == "Strict"
    assert 'action="/ask"' in page and 'data-searching="Searching 8 papers…"' in page
    assert "<script>" not in page and 'src="/static/citewise.js"' in page  # no inline script at all
    script = await client.get("/static/citewise.js")
    assert script.status == 200 and "Content-Security-Policy" in script.headers


async def test_an_empty_store_says_so_and_shows_how_to_fill_it(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "empty.db", port=0)
    core = build_citewise(settings)
    adapter = WebAdapter(settings, core)
    client = await _serve(adapter)
    try:
        page = await (await client.get("/")).text()
        assert "The paper store is empty" in page and "citewise ingest" in page
        assert 'action="/papers/upload"' in page and 'action="/papers/add"' in page and 'action="/ask"' not in page
    finally:
        await client.close()
        await adapter.stop()
        await core.aclose()


async def test_an_answer_is_rendered_cited_and_kept_as_a_thread(client: TestClient, web_core: Citewise) -> None:
    data = await _ask(client, TEA)
    html = data["html"]
    assert data["saved"] and data["url"] == f"/c/{data['thread']}" and "thread_item" in data
    answer_id = re.search(r'data-answer="([0-9a-f]{16})"', html).group(1)  # type: ignore[union-attr]
    answer = await web_core.stored_answer(answer_id)
    assert answer is not None and answer.conversation_id == f"web:{data['thread']}" and answer.sources_cited >= 2
    assert f'href="#s-{answer_id}-2"' in html and f'id="s-{answer_id}-2"' in html
    assert f"{answer.sources_cited} sources cited" in html and "Show sources" in html and "Hide sources" in html
    assert "(sentence " in html and "stance-" in html and 'action="/answers/' in html
    page = await (await client.get(data["url"])).text()
    assert TEA in page and f'id="a-{answer_id}"' in page and 'name="thread" value="' + data["thread"] in page


async def test_the_verdict_line_comes_first_when_the_answer_has_one(client: TestClient, web_core: Citewise) -> None:
    answer = await web_core.answer(Question(text=TEA, conversation_id="web:00000000000000aa", platform="web"))
    head, _, rest = answer.verdict_text.partition(" — ")
    assert head, "the pipeline gives every answer a bottom line"
    page = await (await client.get("/c/00000000000000aa")).text()
    assert f"<strong>{head}</strong>" in page
    if answer.sentences:
        assert page.index('class="verdict') < page.index('class="direct"')
    without = answer.model_copy(update={"verdict_text": ""})  # an answer stored before verdicts existed
    web_core.memory.record_turn("web:00000000000000bb", _turn(without), without)
    page = await (await client.get("/c/00000000000000bb")).text()
    assert 'class="verdict' not in page


def _turn(answer: Answer) -> Turn:
    return Turn(question=answer.question, query=answer.question, answer_id=answer.id)


async def test_a_plain_form_post_is_redirected_to_its_thread(client: TestClient) -> None:
    token = await _token(client)
    response = await client.post("/ask", data={"question": TEA, "thread": "", "csrf": token}, allow_redirects=False)
    assert response.status == 303 and re.match(r"^/c/[0-9a-f]{16}#a-[0-9a-f]{16}$", response.headers["Location"])


async def test_a_follow_up_goes_into_the_same_thread(client: TestClient, web_core: Citewise) -> None:
    first = await _ask(client, TEA)
    second = await _ask(client, "what are its limitations?", thread=first["thread"])
    assert second["thread"] == first["thread"] and "thread_item" not in second
    assert "limit" in second["html"].lower()
    conversation = web_core.memory.conversation(f"web:{first['thread']}")
    assert [t.question for t in conversation.turns] == [TEA, "what are its limitations?"]
    assert web_core.memory.is_open(f"web:{first['thread']}")  # opened by the router, as Slack's /ask is
    page = await (await client.get(first["url"])).text()
    assert page.count('class="turn"') == 2
    listing = await (await client.get("/")).text()
    assert listing.count('class="thread-item"') == 1


async def test_a_thread_that_does_not_exist_is_refused(client: TestClient) -> None:
    token = await _token(client)
    bad = await client.post("/ask", data={"question": TEA, "thread": "../../etc", "csrf": token}, headers=JSON)
    assert bad.status == 400 and (await bad.json())["ok"] is False
    assert (await client.get("/c/0123456789abcdef")).status == 404
    assert (await client.get("/c/not-a-thread")).status == 404


async def test_an_invalid_question_is_explained_and_not_kept(client: TestClient) -> None:
    data = await _ask(client, "?")
    assert data["saved"] is False and "thread_item" not in data and 'class="message"' in data["html"]


# ── security ──────────────────────────────────────────────────────────────
async def test_every_post_needs_the_csrf_token(client: TestClient) -> None:
    await client.get("/")  # the cookie alone is not enough
    for path in ("/ask", "/papers/add", "/papers/upload", "/answers/0123456789abcdef/feedback", "/login"):
        response = await client.post(path, data={"question": TEA, "refs": "10.1/x", "value": "up"})
        assert response.status == 403, path
        assert "Reload the page" in await response.text()
    wrong = await client.post("/ask", data={"question": TEA, "csrf": "x" * 43}, headers=JSON)
    assert wrong.status == 403 and "expired" in (await wrong.json())["error"]
    token = await _token(client)
    by_header = await client.post("/ask", data={"question": TEA}, headers={**JSON, "X-CSRF-Token": token})
    assert by_header.status == 200


async def test_a_hostile_title_is_escaped_everywhere(client: TestClient) -> None:
    data = await _ask(client, "Do neonicotinoids harm bees?")
    html = data["html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    assert "<script>" not in html and "&lt;script&gt;alert(3)&lt;/script&gt;" in html and "<b>Eve" not in html
    assert "javascript:" not in html  # its URL is not made a link
    page = await (await client.get(data["url"])).text()
    assert "<img" not in page and "<script>" not in page
    search = await (await client.get("/papers", params={"q": "neonicotinoid bees"})).text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in search and "<img" not in search


async def test_a_question_is_escaped_too(client: TestClient) -> None:
    data = await _ask(client, "Does green tea <script>alert(1)</script> help weight loss?")
    assert "<script>" not in data["html"] and "&lt;script&gt;" in data["html"]
    assert "<script>" not in data["thread_item"]
    listing = await (await client.get("/")).text()
    assert "<script>alert" not in listing


async def test_other_host_names_are_refused_without_a_token(client: TestClient) -> None:
    rebound = await client.get("/", headers={"Host": "attacker.example:3000"})
    assert rebound.status == 403
    assert (await client.get("/", headers={"Host": "localhost:3000"})).status == 200


async def test_a_failure_is_a_short_apology_with_a_reference(
    client: TestClient, web_core: Citewise, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(question: Question) -> Answer:
        raise RuntimeError("the index is on fire")

    monkeypatch.setattr(web_core, "answer", broken)
    token = await _token(client)
    with caplog.at_level(logging.ERROR, logger="adapters.web.errors"):
        response = await client.post("/ask", data={"question": TEA, "csrf": token}, headers=JSON)
        page = await client.post("/ask", data={"question": TEA, "csrf": token})
    data = await response.json()
    assert response.status == 500 and data["error"].startswith("Sorry") and data["reference"] in data["error"]
    text = await page.text()
    assert page.status == 500 and "Reference:" in text
    assert "Traceback" not in text and "on fire" not in text and "on fire" not in data["error"]
    assert any(data["reference"] in r.getMessage() for r in caplog.records)


# ── feedback ──────────────────────────────────────────────────────────────
async def test_a_vote_is_recorded_once_per_browser_and_shown_after_reload(client: TestClient, web_core: Citewise) -> None:
    data = await _ask(client, TEA)
    answer_id = re.search(r'data-answer="([0-9a-f]{16})"', data["html"]).group(1)  # type: ignore[union-attr]
    token = await _token(client)
    for value in ("down", "up"):
        response = await client.post(f"/answers/{answer_id}/feedback", data={"value": value, "csrf": token}, headers=JSON)
        assert response.status == 200 and (await response.json())["vote"] == value
    votes = web_core.memory.feedback(answer_id)
    assert list(votes.values()) == ["up"] and next(iter(votes)).startswith("web:")
    page = await (await client.get(data["url"])).text()
    assert re.search(r'value="up"[^>]*aria-pressed="true"', page)
    plain = await client.post(f"/answers/{answer_id}/feedback", data={"value": "up", "csrf": token}, allow_redirects=False)
    assert plain.status == 303 and plain.headers["Location"] == f"{data['url']}#a-{answer_id}"
    assert (await client.post(f"/answers/{answer_id}/feedback", data={"value": "meh", "csrf": token})).status == 400
    missing = await client.post("/answers/0123456789abcdef/feedback", data={"value": "up", "csrf": token})
    assert missing.status == 404


# ── growing the store ─────────────────────────────────────────────────────
def _upload(name: str, data: bytes, token: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    form.add_field("files", data, filename=name, content_type="application/octet-stream")
    return form


async def test_uploading_a_bib_adds_its_papers_with_the_paper_add_reply(client: TestClient, web_core: Citewise) -> None:
    token = await _token(client)
    response = await client.post("/papers/upload", data=_upload("refs.bib", BIB.read_bytes(), token))
    page = await response.text()
    assert response.status == 200 and "Added 2 papers to the team&#x27;s store:" in page
    assert "Octopus camouflage: how chromatophores match the background (2007)" in page
    assert await web_core.paper_count() == 10
    again = await (await client.post("/papers/upload", data=_upload("refs.bib", BIB.read_bytes(), token))).text()
    assert "this exact file was added before" in again
    data = await _ask(client, "How does octopus camouflage work?")
    assert "chromatophores" in data["html"].lower() and "[1]" in data["html"]


async def test_an_upload_that_is_not_a_paper_file_is_refused_unread(client: TestClient) -> None:
    token = await _token(client)
    response = await client.post("/papers/upload", data=_upload("notes.txt", b"hello", token))
    page = await response.text()
    assert response.status == 422 and "Could not read:" in page
    assert "notes.txt: not a paper file (use .bib, .ris, .pdf, .jsonl or .csv)" in page
    broken = await client.post("/papers/upload", data=_upload("broken.jsonl", b"{not json\n", token))
    assert "Could not add" in await broken.text()


async def test_an_upload_over_the_limit_is_refused_politely(web_settings: Settings, web_core: Citewise) -> None:
    adapter = WebAdapter(web_settings, web_core, max_body=64 * 1024)
    client = await _serve(adapter)
    try:
        token = await _token(client)
        response = await client.post("/papers/upload", data=_upload("big.bib", b"%" * 200_000, token))
        assert response.status == 413 and "larger than 25 MB" in await response.text()
    finally:
        await client.close()
        await adapter.stop()


async def test_adding_by_reference_gives_the_paper_add_reply(client: TestClient) -> None:
    token = await _token(client)
    page = await (await client.post("/papers/add", data={"refs": "10.1063/1.4944470, not-an-id", "csrf": token})).text()
    assert "Could not add (2):" in page and "CITEWISE_OFFLINE" in page and "not-an-id" in page
    empty = await client.post("/papers/add", data={"refs": " ", "csrf": token})
    assert empty.status == 422 and "Give a DOI" in await empty.text()


async def test_the_search_and_store_pages(client: TestClient) -> None:
    search = await (await client.get("/papers", params={"q": "green tea weight"})).text()
    assert '<ol class="hits">' in search and "Green tea for weight loss" in search
    none = await (await client.get("/papers", params={"q": "quasar spectroscopy"})).text()
    assert "No papers in the store match" in none
    store = await (await client.get("/store")).text()
    assert "<th scope=\"row\">papers</th><td>8</td>" in store and "files ingested" in store and "by origin" in store


# ── the access token ──────────────────────────────────────────────────────
async def test_with_a_token_the_page_asks_for_it_once(web_db: Path, web_core: Citewise) -> None:
    settings = Settings(db_path=web_db, port=0, web_token="s3cret-token-for-tests")
    adapter = WebAdapter(settings, web_core, host="0.0.0.0")
    client = await _serve(adapter)
    try:
        gate = await client.get("/store")
        gate_page = await gate.text()
        assert gate.status == 401 and 'action="/login"' in gate_page and "papers</th>" not in gate_page
        assert (await client.get("/static/citewise.css")).status == 200
        bearer = await client.get("/store", headers={"Authorization": "Bearer s3cret-token-for-tests"})
        assert bearer.status == 200
        api = await client.post("/ask", data={"question": TEA}, headers={**JSON, "Authorization": "Bearer s3cret-token-for-tests"})
        assert api.status == 200  # a bearer request cannot be forged cross-site, so it needs no CSRF token
        token = csrf_in(gate_page)
        wrong = await client.post("/login", data={"token": "guess", "next": "/store", "csrf": token})
        assert wrong.status == 401 and "Wrong token" in await wrong.text()
        right = await client.post("/login", data={"token": "s3cret-token-for-tests", "next": "//evil.example/",
                                                  "csrf": token}, allow_redirects=False)
        assert right.status == 303 and right.headers["Location"] == "/"
        assert "s3cret" not in right.headers.get("Set-Cookie", "")
        assert (await client.get("/store")).status == 200
    finally:
        await client.close()
        await adapter.stop()


def test_binding_beyond_loopback_needs_a_token() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, None)
    for host in ("0.0.0.0", "192.0.2.10", "::", "example.org", ""):
        with pytest.raises(WebConfigError, match="CITEWISE_WEB_TOKEN"):
            check_bind(host, None)
    check_bind("0.0.0.0", "a-token")


def test_citewise_web_refuses_a_public_bind_without_a_token(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITEWISE_WEB_TOKEN", raising=False)
    assert main(["--db", str(tmp_path / "s.db"), "web", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refusing to serve the web chat on 0.0.0.0" in err


# ── citewise run ──────────────────────────────────────────────────────────
def test_run_serves_the_web_chat_alone_when_no_platform_is_set(web_settings: Settings, web_core: Citewise) -> None:
    assert [a.name for a in enabled_adapters(web_settings, web_core)] == ["web"]


def test_web_beside_slack_http_shares_its_public_server_only_with_a_token(web_db: Path, web_core: Citewise) -> None:
    slack: dict[str, Any] = {"slack_bot_token": "xoxb-test", "slack_signing_secret": "s", "web": True, "port": 0}
    with pytest.raises(WebConfigError):
        enabled_adapters(Settings(db_path=web_db, **slack), web_core)
    adapters = enabled_adapters(Settings(db_path=web_db, web_token="t" * 24, **slack), web_core)
    assert [a.name for a in adapters] == ["slack", "web"]
    assert adapters[1].host == "0.0.0.0"  # type: ignore[attr-defined]


async def test_a_shared_server_serves_slack_and_the_web_chat_on_one_port(web_db: Path, web_core: Citewise) -> None:
    from adapters.slack import build_slack_adapter

    settings = Settings(db_path=web_db, slack_bot_token="xoxb-test", slack_signing_secret="s", port=0)
    slack = build_slack_adapter(settings, web_core, host="127.0.0.1")
    assert slack.http is not None
    web_chat = WebAdapter(settings, web_core, shared=slack.http)
    import asyncio

    tasks = [asyncio.create_task(slack.start()), asyncio.create_task(web_chat.start())]
    await asyncio.wait_for(slack.ready.wait(), 5)
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{slack.http.port}"
            async with session.get(base + "/") as page:
                assert page.status == 200 and "Content-Security-Policy" in page.headers
            async with session.post(base + "/slack/events", data=b"{}") as events:
                assert events.status == 401 and "Content-Security-Policy" not in events.headers  # Bolt's, untouched
            async with session.get(base + "/healthz") as health:
                assert health.status == 200
    finally:
        await web_chat.stop()
        await slack.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)


def test_citewise_run_without_credentials_serves_the_web_chat_and_says_how_to_add_platforms(web_db: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "CITEWISE_WEB"))}
    env |= {"PORT": "0", "CITEWISE_OFFLINE": "1"}
    run = subprocess.Popen([sys.executable, "-m", "adapters.cli", "--db", str(web_db), "run"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert run.stdout is not None
        line = run.stdout.readline()
        match = re.match(r"^Citewise web chat: (http://127\.0\.0\.1:\d+/)$", line.strip())
        assert match, line
        import urllib.request

        with urllib.request.urlopen(match.group(1), timeout=10) as page:  # loopback only
            assert page.status == 200 and b'action="/ask"' in page.read()
    finally:
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=20)
    assert run.returncode == 0 and "SLACK_BOT_TOKEN" in err and "DISCORD_TOKEN" in err and "Traceback" not in err
