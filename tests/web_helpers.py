"""Shared by the web chat's handler and browser tests: the fixture corpus and a page's CSRF token."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.ingest import ingest_file
from knowledge.store import PaperStore

__all__ = ["FIXTURES", "CORPUS", "BIB", "fill_store", "csrf_in"]

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "web"
# Eight hand-written abstracts: green tea and weight (three papers, for citations and follow-ups),
# neonicotinoids and bees (one titled `<img src=x onerror=alert(1)>`, with a javascript: URL), noise.
CORPUS = FIXTURES / "papers.jsonl"
# Two papers on octopus camouflage, a topic the corpus does not cover: the upload test.
BIB = FIXTURES / "upload.bib"

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def fill_store(db_path: Path) -> None:
    store = PaperStore(db_path)
    try:
        ingest_file(store, CORPUS, added_by="tests", progress=False)
    finally:
        store.close()


def csrf_in(page: str) -> str:
    match = _CSRF.search(page)
    assert match is not None, "the page carries no CSRF token"
    return match.group(1)
