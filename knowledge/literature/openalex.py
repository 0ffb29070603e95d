"""OpenAlex works: search by title/abstract words, look up by id, DOI or PMID.

OpenAlex ships abstracts as an inverted index (word → positions) for licensing
reasons; `rebuild_abstract` turns it back into running text so its sentences can
be quoted as evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from knowledge.literature.errors import MalformedResponse
from knowledge.literature.http import PoliteClient
from knowledge.literature.identifiers import Identifier
from knowledge.literature.records import build_paper
from knowledge.papers import Paper, normalise_doi

__all__ = ["OpenAlexClient", "rebuild_abstract", "work_to_paper", "DEFAULT_OPENALEX_URL"]

logger = logging.getLogger(__name__)

DEFAULT_OPENALEX_URL = "https://api.openalex.org"
_SELECT = "id,doi,title,display_name,publication_year,authorships,primary_location,abstract_inverted_index,ids"
_MAX_PER_PAGE = 200


def rebuild_abstract(inverted: object) -> str:
    """Running text from `abstract_inverted_index`; empty when there is none or it is unusable."""
    if not isinstance(inverted, dict):
        return ""
    slots: dict[int, str] = {}
    for word, positions in inverted.items():
        if not isinstance(positions, list):
            continue
        for position in positions:
            if isinstance(position, int) and position >= 0:
                slots[position] = str(word)
    return " ".join(slots[i] for i in sorted(slots))


def _object(value: object) -> dict[str, Any]:
    """A JSON object, or an empty one where the API sent null (e.g. `primary_location.source`)."""
    return value if isinstance(value, dict) else {}


def _short_id(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.rstrip("/").rsplit("/", 1)[-1].upper()


def work_to_paper(work: object) -> Paper:
    """One OpenAlex work object as a Paper; raises ValueError when it lacks a title or an id."""
    if not isinstance(work, dict):
        raise ValueError("work is not a JSON object")
    title = work.get("title") or work.get("display_name")
    openalex_id = _short_id(work.get("id"))
    if not isinstance(title, str) or not title.strip() or openalex_id is None:
        raise ValueError(f"work {openalex_id or '?'} has no title or id")
    doi = normalise_doi(work["doi"]) if isinstance(work.get("doi"), str) else None
    authors = []
    for authorship in work.get("authorships") or []:
        author = authorship.get("author") if isinstance(authorship, dict) else None
        name = author.get("display_name") if isinstance(author, dict) else None
        if isinstance(name, str) and name.strip():
            authors.append(name)
    location = _object(work.get("primary_location"))
    source = _object(location.get("source"))
    venue = source.get("display_name") if isinstance(source.get("display_name"), str) else None
    year = work.get("publication_year")
    url = location.get("landing_page_url") if isinstance(location.get("landing_page_url"), str) else None
    return build_paper(
        f"work {openalex_id}",
        abstract=rebuild_abstract(work.get("abstract_inverted_index")),
        id=f"doi:{doi}" if doi else f"openalex:{openalex_id}",
        title=title,
        authors=authors,
        year=year if isinstance(year, int) else None,
        venue=venue,
        doi=doi,
        url=url or (f"https://doi.org/{doi}" if doi else f"https://openalex.org/{openalex_id}"),
        origin="openalex",
    )


class OpenAlexClient:
    """The `/works` endpoint, in the polite pool when a contact address is configured."""

    source = "openalex"

    def __init__(self, http: PoliteClient) -> None:
        self.http = http

    def _params(self, **extra: str | int) -> dict[str, str | int]:
        params: dict[str, str | int] = dict(extra)
        if self.http.config.mailto:
            params["mailto"] = self.http.config.mailto
        return params

    async def search(
        self,
        query: str,
        *,
        limit: int = 25,
        since: int | None = None,
        page_size: int | None = None,
        on_page: Callable[[int], None] | None = None,
    ) -> list[Paper]:
        """Up to `limit` works matching `query` (title, abstract, full text), paged with a cursor."""
        papers: list[Paper] = []
        cursor: str | None = "*"
        per_page = max(1, min(page_size or limit, limit, _MAX_PER_PAGE))
        while cursor and len(papers) < limit:
            extra: dict[str, str | int] = {"search": query, "per-page": per_page, "cursor": cursor, "select": _SELECT}
            if since:
                extra["filter"] = f"from_publication_date:{since}-01-01"
            body = await self.http.get_json("works", self._params(**extra))
            results, cursor = self._page(body)
            if not results:
                break
            found = self._papers(results)
            papers += found
            if on_page is not None:
                on_page(len(found))
        return papers[:limit]

    async def work(self, identifier: Identifier) -> Paper:
        """One work by OpenAlex id, DOI or PMID."""
        key = {"openalex": identifier.value, "doi": f"doi:{identifier.value}", "pmid": f"pmid:{identifier.value}"}.get(
            identifier.kind
        )
        if key is None:
            raise MalformedResponse(f"cannot look up {identifier} in OpenAlex", source=self.source)
        body = await self.http.get_json(f"works/{key}", self._params(select=_SELECT))
        try:
            return work_to_paper(body)
        except ValueError as exc:
            raise MalformedResponse(f"unusable work for {identifier}: {exc}", source=self.source) from None

    def _page(self, body: object) -> tuple[list[Any], str | None]:
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise MalformedResponse("works response has no 'results' list", source=self.source)
        meta = _object(body.get("meta"))
        cursor = meta.get("next_cursor")
        return body["results"], cursor if isinstance(cursor, str) and cursor else None

    def _papers(self, results: list[Any]) -> list[Paper]:
        papers = []
        for work in results:
            try:
                papers.append(work_to_paper(work))
            except ValueError as exc:
                logger.info("openalex: skipped a work: %s", exc)
        return papers
