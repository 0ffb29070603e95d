"""The web chat in a real browser: Debian's Chromium driven by Playwright, against a live server.

Skips (with the reason) only when the playwright package or the chromium binary is
missing; `.ci/run` installs both, and nothing here downloads a browser. Set
CITEWISE_SCREENSHOT=PATH to keep the screenshot of a real answer (README's picture).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.live_web import LiveWeb
from tests.web_helpers import BIB, fill_store

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
CHROMIUM = os.environ.get("CITEWISE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

expect = playwright_api.expect

TEA = "Does green tea help weight loss?"
BEES = "Do neonicotinoids harm bees?"
XSS_TITLE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveWeb]:
    db = tmp_path / "web.db"
    fill_store(db)
    live = LiveWeb(db)
    live.start()
    yield live
    live.close()


class Watched:
    """A page and what it must never do: open a dialog (an XSS firing) or throw."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    w = Watched(context.new_page())
    yield w
    context.close()
    assert w.dialogs == [] and w.errors == []


def _ask(page: Page, question: str) -> None:
    answers = page.locator("article.answer").count()
    page.fill("textarea[name=question]", question)
    page.click("form.ask button[type=submit]")
    expect(page.locator("article.answer")).to_have_count(answers + 1)


def test_ask_shows_searching_then_a_cited_answer(server: LiveWeb, watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    page.goto(server.url)
    server.released.clear()  # hold the answer: the placeholder must show meanwhile
    page.fill("textarea[name=question]", TEA)
    page.click("form.ask button[type=submit]")
    expect(page.locator(".turn.pending .question")).to_have_text(TEA)
    expect(page.locator(".searching")).to_have_text("Searching 8 papers…")
    server.released.set()
    answer = page.locator("article.answer")
    expect(answer).to_be_visible()
    expect(page.locator(".searching")).to_have_count(0)
    assert answer.locator("a.cite").count() >= 3
    expect(answer.locator(".sources-line")).to_have_text(re.compile(r"^\d+ sources cited$"))
    assert re.search(r"/c/[0-9a-f]{16}$", page.url)
    expect(page.locator(".thread-item a")).to_have_text(TEA)
    answer.locator("details.sources summary").click()
    answer.locator("a.cite[data-n='2']").first.click()
    shot = Path(os.environ.get("CITEWISE_SCREENSHOT") or tmp_path / "web-answer.png")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_clicking_2_lands_on_source_2(server: LiveWeb, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    _ask(page, TEA)
    details = page.locator("details.sources")
    assert details.get_attribute("open") is None
    page.locator("a.cite[data-n='2']").first.click()
    source = page.locator("li.source[value='2']")
    expect(source).to_be_in_viewport()
    expect(source).to_have_class(re.compile(r"\bflash\b"))
    assert details.get_attribute("open") is not None
    assert re.search(r"#s-[0-9a-f]{16}-2$", page.url)
    assert page.evaluate("document.activeElement.id") == source.get_attribute("id")


def test_show_and_hide_sources(server: LiveWeb, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    _ask(page, TEA)
    summary = page.locator("details.sources summary")
    listing = page.locator("ol.source-list")
    expect(listing).to_be_hidden()
    expect(summary).to_have_text(re.compile(r"^Show sources \(\d+\)$"), use_inner_text=True)
    summary.click()
    expect(listing).to_be_visible()
    expect(summary).to_have_text("Hide sources", use_inner_text=True)
    first = listing.locator("li.source").first
    expect(first.locator(".source-head a, .source-head span").first).not_to_be_empty()
    expect(first.locator(".stance")).to_have_text(re.compile(r"^(Supports|Contradicts|Neutral|Related)$"))
    expect(first.locator("blockquote").first).to_contain_text("(sentence ")
    summary.click()
    expect(listing).to_be_hidden()
    expect(summary).to_have_text(re.compile(r"^Show sources \(\d+\)$"), use_inner_text=True)


def test_a_follow_up_in_the_thread_keeps_its_context(server: LiveWeb, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    _ask(page, TEA)
    thread_url = page.url
    expect(page.locator("form.ask label")).to_have_text("Ask a follow-up in this thread")
    _ask(page, "what are its limitations?")
    assert page.url == thread_url
    follow_up = page.locator("article.answer").nth(1)
    expect(follow_up.locator(".direct")).to_contain_text(re.compile("limit", re.I))
    expect(follow_up.locator(".direct")).to_contain_text(re.compile("green tea|trial", re.I))
    expect(page.locator(".thread-item")).to_have_count(1)


def test_reload_and_the_thread_is_still_there(server: LiveWeb, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    _ask(page, TEA)
    _ask(page, "what are its limitations?")
    page.reload()
    expect(page.locator(".turn .question")).to_have_text([TEA, "what are its limitations?"])
    page.goto(server.url)
    page.locator(".thread-item a", has_text=TEA).click()
    expect(page.locator("article.answer")).to_have_count(2)


def test_restart_the_server_and_the_buttons_still_work(server: LiveWeb, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    _ask(page, TEA)
    server.restart()  # the page is not reloaded: its forms and tokens come from before the restart
    up = page.locator("button.vote[value='up']")
    up.click()
    expect(page.locator(".thanks")).to_have_text("Thanks, noted.")
    expect(up).to_have_attribute("aria-pressed", "true")
    page.locator("details.sources summary").click()
    expect(page.locator("ol.source-list")).to_be_visible()
    _ask(page, "what are its limitations?")
    page.reload()
    expect(page.locator("article.answer")).to_have_count(2)
    expect(page.locator("button.vote[value='up']").first).to_have_attribute("aria-pressed", "true")


def test_upload_a_bib_then_get_an_answer_from_its_papers(server: LiveWeb, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "papers")
    page.set_input_files("#files", str(BIB))
    page.click("form.add-file button[type=submit]")
    expect(page.locator(".paper-reply")).to_contain_text("Added 2 papers to the team's store:")
    expect(page.locator("#paper-count")).to_have_text("10 papers")
    page.goto(server.url)
    _ask(page, "How does octopus camouflage work?")
    page.locator("details.sources summary").click()
    expect(page.locator("li.source .source-head").first).to_contain_text(re.compile("octopus", re.I))
    expect(page.locator(".direct")).to_contain_text(re.compile("chromatophores|papillae", re.I))


def test_a_hostile_title_renders_as_inert_text(server: LiveWeb, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    _ask(page, BEES)
    page.locator("details.sources summary").click()
    hostile = page.locator("li.source", has=page.locator(".title", has_text=XSS_TITLE))
    expect(hostile.locator(".title")).to_have_text(XSS_TITLE)
    assert hostile.locator("a[href^='javascript']").count() == 0 and hostile.locator("a.title").count() == 0
    expect(hostile.locator(".source-meta")).to_contain_text("<b>Eve</b> Mallory")
    assert page.locator("main img, main script, main b").count() == 0
    page.reload()
    page.locator("details.sources summary").click()
    expect(page.locator(".title", has_text=XSS_TITLE)).to_have_count(1)
    # The watched fixture asserts afterwards that no dialog opened and no script error happened.


def test_a_post_without_the_csrf_token_is_refused(server: LiveWeb, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url)
    status = page.evaluate(
        "async () => (await fetch('/ask', {method: 'POST', body: new URLSearchParams({question: 'x'})})).status"
    )
    assert status == 403
    # A form on another site posting here: the SameSite cookie is not sent and there is no token.
    page.set_content(f'<form method="post" action="{server.url}ask"><input name="question" value="x"></form>')
    with page.expect_navigation() as navigation:
        page.evaluate("document.forms[0].submit()")
    response = navigation.value
    assert response is not None and response.status == 403
    expect(page.locator("body")).to_contain_text("Reload the page and try again")
