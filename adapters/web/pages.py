"""Whole pages: the layout around the fragments in `render`, and the forms that change things.

Every form works without the script (a plain POST); `static/citewise.js` only makes
asking, voting and the source list feel like a chat. Every form carries the CSRF token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from adapters.web.markup import Safe, safe, tag
from adapters.web.render import render_thread_item
from adapters.web.security import CSRF_FIELD
from bot.messages import searching
from bot.threads import ThreadSummary
from bot.uploads import MAX_UPLOAD_BYTES, PAPER_FILE_TYPES

__all__ = [
    "page",
    "ask_form",
    "add_forms",
    "added_main",
    "home_main",
    "thread_main",
    "papers_main",
    "store_main",
    "login_main",
    "notice_main",
    "thread_path",
]

_EXAMPLE = "Does vitamin D supplementation reduce fractures?"
_FOLLOW_UP_LABEL = "Ask a follow-up in this thread"
_FOLLOW_UP_EXAMPLE = "What are its limitations?"


def thread_path(key: str) -> str:
    return f"/c/{key}"


def page(
    title: str,
    main: Safe,
    *,
    csrf: str,
    papers: int | None = None,
    threads: Sequence[tuple[str, ThreadSummary]] = (),
    current: str | None = None,
    nav: str = "",
) -> Safe:
    """The layout: header with navigation, the conversation list, and `main`."""
    links = (
        tag("a", label, href=href, aria_current="page" if nav == key else None)
        for key, label, href in (("ask", "Ask", "/"), ("papers", "Papers", "/papers"), ("store", "Store", "/store"))
    )
    count = tag("span", f"{papers:,} papers", class_="count", id="paper-count") if papers is not None else None
    header = tag("header", tag("a", "Citewise", href="/", class_="brand"), tag("nav", links), count)
    aside = None
    if papers is not None:
        items = [render_thread_item(t, path=thread_path(key), current=key == current) for key, t in threads]
        aside = tag(
            "aside",
            tag("a", "+ New question", href="/", class_="new-thread"),
            tag("h2", "Conversations"),
            tag("ul", items, class_="threads", id="threads") if items else tag("p", "No conversations yet.", class_="muted",
                                                                                  id="threads-empty"),
            class_="sidebar",
        )
    head = tag(
        "head",
        tag("meta", charset="utf-8"),
        tag("meta", name="viewport", content="width=device-width, initial-scale=1"),
        tag("meta", name="csrf-token", content=csrf),
        tag("title", f"{title} · Citewise" if title else "Citewise"),
        tag("link", rel="icon", href="/static/favicon.svg", type="image/svg+xml"),
        tag("link", rel="stylesheet", href="/static/citewise.css"),
        tag("script", src="/static/citewise.js", defer=True),
    )
    body = tag("body", header, tag("div", aside, tag("main", main), class_="layout"))
    return Safe(safe("<!doctype html>\n") + tag("html", head, body, lang="en"))


def ask_form(*, csrf: str, papers: int, key: str | None = None) -> Safe:
    """The ask box; with `key` it is the reply box of that thread (a follow-up keeps its context)."""
    label = _FOLLOW_UP_LABEL if key else "Ask the team's papers"
    return tag(
        "form",
        tag("input", type="hidden", name=CSRF_FIELD, value=csrf),
        tag("input", type="hidden", name="thread", value=key or ""),
        tag("label", label, for_="question"),
        tag("textarea", id="question", name="question", rows="3", required=True, maxlength="2000",
            placeholder=_FOLLOW_UP_EXAMPLE if key else _EXAMPLE),
        tag("button", "Ask", type="submit"),
        method="post",
        action="/ask",
        class_="ask",
        data_searching=searching(papers),
        data_label_followup=_FOLLOW_UP_LABEL,
        data_placeholder_followup=_FOLLOW_UP_EXAMPLE,
    )


def home_main(*, csrf: str, papers: int) -> Safe:
    if papers == 0:
        return tag("div", _empty_store(csrf), class_="empty")
    return tag(
        "div",
        tag("h1", "Ask a question"),
        tag("p", f"Answers come only from the {papers:,} papers in the team's store, and every claim is cited.",
            class_="muted"),
        tag("div", class_="thread", id="thread"),
        ask_form(csrf=csrf, papers=papers),
    )


def _empty_store(csrf: str) -> Safe:
    return tag(
        "div",
        tag("h1", "The paper store is empty"),
        tag("p", "Citewise answers only from papers in its store, so there is nothing to ask yet. Fill it first:"),
        add_forms(csrf),
        tag("p", "or, from a terminal:", class_="muted"),
        tag("pre", tag("code", "citewise ingest papers.jsonl refs.bib paper.pdf\n"
                               "citewise ingest --doi 10.1063/1.4944470\n"
                               "citewise ingest --openalex \"intermittent fasting insulin\" --limit 20")),
    )


def add_forms(csrf: str) -> Safe:
    """Add by DOI / arXiv id / URL, and upload a file: the web's `/paper add`."""
    accept = ",".join(PAPER_FILE_TYPES)
    refs = tag(
        "form",
        tag("input", type="hidden", name=CSRF_FIELD, value=csrf),
        tag("label", "Add by DOI, arXiv id or link", for_="refs"),
        tag("input", type="text", id="refs", name="refs", required=True,
            placeholder="10.1063/1.4944470  1601.00001  https://arxiv.org/abs/…"),
        tag("button", "Add", type="submit"),
        method="post", action="/papers/add", class_="add-refs",
    )
    upload = tag(
        "form",
        tag("input", type="hidden", name=CSRF_FIELD, value=csrf),
        tag("label", f"Upload .bib, .ris, .pdf, .jsonl or .csv (up to {MAX_UPLOAD_BYTES // 2**20} MB)", for_="files"),
        tag("input", type="file", id="files", name="files", multiple=True, required=True, accept=accept),
        tag("button", "Upload", type="submit"),
        method="post", action="/papers/upload", enctype="multipart/form-data", class_="add-file",
    )
    return tag("div", refs, upload, class_="add-forms")


def thread_main(turns: Sequence[Safe], *, key: str, csrf: str, papers: int) -> Safe:
    return tag(
        "div",
        tag("div", turns, class_="thread", id="thread"),
        ask_form(csrf=csrf, papers=papers, key=key),
    )


def papers_main(*, csrf: str, query: str, results: Safe, reply: Safe | None) -> Safe:
    search = tag(
        "form",
        tag("label", "Search the store", for_="q"),
        tag("input", type="search", id="q", name="q", value=query, placeholder="vitamin D fractures"),
        tag("button", "Search", type="submit"),
        method="get", action="/papers", class_="search",
    )
    return tag("div", tag("h1", "Papers"), reply, search, results, tag("h2", "Add papers"), add_forms(csrf))


def added_main(reply: Safe, *, ok: bool) -> Safe:
    """The `/paper add` reply, and where to go next when something was added."""
    return tag("div", reply, tag("p", tag("a", "Ask a question about them", href="/")) if ok else None)


def store_main(stats: Mapping[str, object]) -> Safe:
    """`citewise stats`, as a table."""
    rows = []
    for key, value in stats.items():
        if isinstance(value, Mapping):
            shown = ", ".join(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in value.items()) or "—"
        elif isinstance(value, int):
            shown = f"{value:,}"
        else:
            shown = "—" if value is None else str(value)
        rows.append(tag("tr", tag("th", key.replace("_", " "), scope="row"), tag("td", shown)))
    return tag("div", tag("h1", "The paper store"), tag("table", tag("tbody", rows), class_="stats"))


def login_main(*, csrf: str, failed: bool, next_path: str) -> Safe:
    return tag(
        "div",
        tag("h1", "Citewise"),
        tag("p", "Wrong token, try again." if failed else "Enter the access token (CITEWISE_WEB_TOKEN) once; "
                                                            "this browser remembers it.", class_="muted"),
        tag(
            "form",
            tag("input", type="hidden", name=CSRF_FIELD, value=csrf),
            tag("input", type="hidden", name="next", value=next_path),
            tag("label", "Access token", for_="token"),
            tag("input", type="password", id="token", name="token", required=True, autocomplete="current-password"),
            tag("button", "Continue", type="submit"),
            method="post", action="/login", class_="login",
        ),
        class_="narrow",
    )


def notice_main(title: str, text: str) -> Safe:
    return tag("div", tag("h1", title), tag("p", text, class_="message"), tag("p", tag("a", "Back to Citewise", href="/")),
               class_="narrow")
