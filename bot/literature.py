"""The literature sources from the bot's side: one client built from settings (our name,
contact and limits), and the batch `citewise ingest --openalex/--arxiv/--doi` fetches."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from pydantic import BaseModel, Field

from bot.settings import Settings
from knowledge.literature import (
    BadIdentifier,
    ClientConfig,
    Clock,
    Identifier,
    Literature,
    LiteratureConfig,
    LiteratureError,
    parse_identifier,
    user_agent,
)
from knowledge.papers import Paper

__all__ = ["build_literature", "citewise_version", "LiteratureRequest", "fetch_literature"]


def citewise_version() -> str:
    try:
        return version("citewise")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0.1.0"


def build_literature(settings: Settings, *, timeout: float | None = None, clock: Clock | None = None) -> Literature:
    """A `Literature` that identifies Citewise politely; `timeout` caps each request (e.g. to a budget)."""
    per_request = settings.literature_timeout if timeout is None else min(settings.literature_timeout, timeout)
    client = ClientConfig(
        user_agent=user_agent(citewise_version(), settings.contact_email),
        mailto=settings.contact_email,
        timeout=per_request,
        retries=settings.literature_retries,
        backoff=settings.literature_backoff,
        min_interval=settings.literature_min_interval,
        cache_ttl=settings.literature_cache_ttl,
    )
    return Literature(
        LiteratureConfig(
            openalex_url=settings.openalex_url,
            arxiv_url=settings.arxiv_url,
            crossref_url=settings.crossref_url,
            client=client,
            arxiv_min_interval=settings.arxiv_min_interval,
        ),
        clock=clock,
    )


class LiteratureRequest(BaseModel):
    """Everything one `citewise ingest` run asks of the literature sources."""

    openalex: list[str] = Field(default_factory=list)
    arxiv: list[str] = Field(default_factory=list)
    dois: list[str] = Field(default_factory=list)
    arxiv_ids: list[str] = Field(default_factory=list)
    limit: int = Field(25, ge=1)
    since: int | None = None

    @property
    def expected(self) -> int:
        return (len(self.openalex) + len(self.arxiv)) * self.limit + len(self.dois) + len(self.arxiv_ids)


async def fetch_literature(
    literature: Literature, request: LiteratureRequest, *, on_progress: Callable[[int], None] | None = None
) -> list[Paper]:
    """Every paper the request names, or the first LiteratureError: all or nothing, nothing stored."""
    identifiers = [_parse_as(ref, "doi") for ref in request.dois] + [_parse_as(ref, "arxiv") for ref in request.arxiv_ids]
    papers: list[Paper] = []
    for query in request.openalex:
        papers += await literature.search(query, source="openalex", limit=request.limit, since=request.since, on_page=on_progress)
    for query in request.arxiv:
        papers += await literature.search(query, source="arxiv", limit=request.limit, since=request.since, on_page=on_progress)
    for result in await literature.fetch_many(identifiers):
        if isinstance(result, LiteratureError):
            raise result
        papers.append(result)
        if on_progress is not None:
            on_progress(1)
    return list({p.id: p for p in papers}.values())


def _parse_as(ref: str, kind: str) -> Identifier:
    identifier = parse_identifier(ref if kind != "arxiv" or ":" in ref or "/" in ref else f"arxiv:{ref}")
    if identifier.kind != kind:
        raise BadIdentifier(f"{ref!r} is not a {'DOI' if kind == 'doi' else 'arXiv id'}")
    return identifier
