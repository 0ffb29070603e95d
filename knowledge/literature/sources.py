"""One entry point to every literature source, sharing one HTTP session.

`Literature` decides which source answers which identifier: DOIs go to Crossref
(the registry of record) with the abstract filled in from OpenAlex when Crossref
has none, arXiv ids to arXiv, OpenAlex ids and PMIDs to OpenAlex.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

import aiohttp
from pydantic import BaseModel, Field

from knowledge.literature.arxiv import DEFAULT_ARXIV_URL, ArxivClient
from knowledge.literature.crossref import DEFAULT_CROSSREF_URL, CrossrefClient
from knowledge.literature.errors import LiteratureError, SourceUnavailable
from knowledge.literature.http import ClientConfig, Clock, PoliteClient
from knowledge.literature.identifiers import Identifier
from knowledge.literature.openalex import DEFAULT_OPENALEX_URL, OpenAlexClient
from knowledge.papers import Paper

__all__ = ["Literature", "LiteratureConfig", "SearchSource"]

logger = logging.getLogger(__name__)

SearchSource = Literal["openalex", "arxiv"]


class LiteratureConfig(BaseModel):
    """Where the sources live and how politely to talk to them."""

    openalex_url: str = DEFAULT_OPENALEX_URL
    arxiv_url: str = DEFAULT_ARXIV_URL
    crossref_url: str = DEFAULT_CROSSREF_URL
    client: ClientConfig = Field(default_factory=ClientConfig)
    arxiv_min_interval: float = 3.0  # arXiv's own request: one call every three seconds


class Literature:
    """OpenAlex, arXiv and Crossref behind one session; use `async with` or call `aclose`."""

    def __init__(self, config: LiteratureConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or LiteratureConfig()
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._openalex: OpenAlexClient | None = None
        self._arxiv: ArxivClient | None = None
        self._crossref: CrossrefClient | None = None

    async def __aenter__(self) -> Literature:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._openalex = self._arxiv = self._crossref = None

    def _client(self, source: str, base_url: str, min_interval: float | None = None) -> PoliteClient:
        if self._session is None:  # created lazily: a session belongs to the running event loop
            self._session = aiohttp.ClientSession(headers={"User-Agent": self.config.client.user_agent})
        config = self.config.client
        if min_interval is not None:
            config = config.model_copy(update={"min_interval": max(config.min_interval, min_interval)})
        return PoliteClient(source, base_url, config, self._session, clock=self._clock)

    @property
    def openalex(self) -> OpenAlexClient:
        if self._openalex is None:
            self._openalex = OpenAlexClient(self._client("openalex", self.config.openalex_url))
        return self._openalex

    @property
    def arxiv(self) -> ArxivClient:
        if self._arxiv is None:
            self._arxiv = ArxivClient(self._client("arxiv", self.config.arxiv_url, self.config.arxiv_min_interval))
        return self._arxiv

    @property
    def crossref(self) -> CrossrefClient:
        if self._crossref is None:
            self._crossref = CrossrefClient(self._client("crossref", self.config.crossref_url))
        return self._crossref

    async def fetch(self, identifier: Identifier) -> Paper:
        """The paper an identifier names, from the source that knows it best."""
        if identifier.kind == "arxiv":
            return (await self.arxiv.by_ids([identifier.value]))[0]
        if identifier.kind != "doi":
            return await self.openalex.work(identifier)
        try:
            paper = await self.crossref.work(identifier.value)
        except SourceUnavailable as first:
            logger.info("%s; asking OpenAlex instead", first)
            try:
                return await self.openalex.work(identifier)
            except LiteratureError:
                raise first from None
        if not paper.sentences:
            paper = await self._with_openalex_abstract(paper, identifier)
        return paper

    async def _with_openalex_abstract(self, paper: Paper, identifier: Identifier) -> Paper:
        """Crossref often lacks abstracts; OpenAlex may have one. Best effort only."""
        try:
            other = await self.openalex.work(identifier)
        except LiteratureError as exc:
            logger.info("no abstract for %s from OpenAlex either: %s", identifier, exc)
            return paper
        return paper.model_copy(update={"sentences": other.sentences}) if other.sentences else paper

    async def fetch_many(self, identifiers: list[Identifier]) -> list[Paper | LiteratureError]:
        """Each identifier's paper or the error that stopped it, in the same order."""
        results = await asyncio.gather(*(self.fetch(i) for i in identifiers), return_exceptions=True)
        out: list[Paper | LiteratureError] = []
        for identifier, result in zip(identifiers, results):
            if isinstance(result, (Paper, LiteratureError)):
                out.append(result)
            elif isinstance(result, Exception):
                logger.warning("unexpected error fetching %s: %r", identifier, result)
                out.append(LiteratureError(f"unexpected error ({type(result).__name__})", source=identifier.kind))
            else:
                raise result
        return out

    async def search(
        self,
        query: str,
        *,
        source: SearchSource = "openalex",
        limit: int = 25,
        since: int | None = None,
        on_page: Callable[[int], None] | None = None,
    ) -> list[Paper]:
        if source == "arxiv":
            papers = await self.arxiv.search(query, limit=limit, on_page=on_page)
            return [p for p in papers if since is None or (p.year or 0) >= since]
        return await self.openalex.search(query, limit=limit, since=since, on_page=on_page)
