"""arXiv's query API: Atom feeds for a search or a list of ids.

arXiv asks for no more than one request every three seconds; the shared
`PoliteClient` spacing takes care of that when configured so.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

from knowledge.literature.errors import MalformedResponse, NotFound
from knowledge.literature.http import PoliteClient
from knowledge.literature.records import build_paper
from knowledge.papers import Paper, normalise_doi

__all__ = ["ArxivClient", "parse_feed", "DEFAULT_ARXIV_URL"]

logger = logging.getLogger(__name__)

DEFAULT_ARXIV_URL = "https://export.arxiv.org/api/query"
_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_ID_IN_URL = re.compile(r"arxiv\.org/abs/(.+?)(v\d+)?$")
_PAGE = 100


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    return " ".join((found.text or "").split()) if found is not None else ""


def _entry_to_paper(entry: ET.Element) -> Paper:
    match = _ID_IN_URL.search(_text(entry, f"{_ATOM}id"))
    title = _text(entry, f"{_ATOM}title")
    if match is None or not title:
        raise ValueError("entry has no arXiv id or title")
    if title == "Error":  # arXiv reports a bad query as a feed with one "Error" entry
        raise ValueError(_text(entry, f"{_ATOM}summary") or "arXiv reported an error")
    arxiv_id = match.group(1)
    published = _text(entry, f"{_ATOM}published")
    doi = normalise_doi(_text(entry, f"{_ARXIV}doi") or None)
    return build_paper(
        f"arXiv {arxiv_id}",
        abstract=_text(entry, f"{_ATOM}summary"),
        id=f"arxiv:{arxiv_id}",
        title=title,
        authors=[_text(a, f"{_ATOM}name") for a in entry.findall(f"{_ATOM}author")],
        year=int(published[:4]) if published[:4].isdigit() else None,
        venue=_text(entry, f"{_ARXIV}journal_ref") or "arXiv",
        doi=doi,
        url=f"https://arxiv.org/abs/{arxiv_id}",
        origin="arxiv",
    )


def parse_feed(text: str) -> tuple[list[Paper], int | None]:
    """Papers in an arXiv Atom feed and the feed's `opensearch:totalResults`."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise MalformedResponse(f"answered with invalid XML ({exc})", source="arxiv") from None
    if root.tag != f"{_ATOM}feed":
        raise MalformedResponse("answered with something other than an Atom feed", source="arxiv")
    total_text = _text(root, f"{_OPENSEARCH}totalResults")
    papers = []
    for entry in root.findall(f"{_ATOM}entry"):
        try:
            papers.append(_entry_to_paper(entry))
        except ValueError as exc:
            logger.info("arxiv: skipped an entry: %s", exc)
    return papers, int(total_text) if total_text.isdigit() else None


class ArxivClient:
    source = "arxiv"

    def __init__(self, http: PoliteClient) -> None:
        self.http = http

    async def search(self, query: str, *, limit: int = 25, on_page: Callable[[int], None] | None = None) -> list[Paper]:
        """Up to `limit` papers for a free-text query (searched in all fields)."""
        terms = " AND ".join(f"all:{word}" for word in query.split()) or "all:*"
        papers: list[Paper] = []
        start = 0
        while len(papers) < limit:
            size = min(_PAGE, limit - len(papers))
            text = await self.http.get_text("", {"search_query": terms, "start": start, "max_results": size})
            page, total = parse_feed(text)
            papers += page
            if on_page is not None:
                on_page(len(page))
            start += size
            if not page or (total is not None and start >= total):
                break
        return papers[:limit]

    async def by_ids(self, ids: list[str]) -> list[Paper]:
        """The papers with these arXiv ids; NotFound names any id arXiv does not know."""
        if not ids:
            return []
        text = await self.http.get_text("", {"id_list": ",".join(ids), "start": 0, "max_results": len(ids)})
        papers, _ = parse_feed(text)
        found = {p.id.removeprefix("arxiv:") for p in papers}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no such paper: {', '.join(missing)}", source=self.source)
        return papers
