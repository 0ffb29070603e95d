"""Build the literature client from settings: one place that knows our name, contact and limits."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from bot.settings import Settings
from knowledge.literature import ClientConfig, Literature, LiteratureConfig, user_agent

__all__ = ["build_literature", "citewise_version"]


def citewise_version() -> str:
    try:
        return version("citewise")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0.1.0"


def build_literature(settings: Settings, *, timeout: float | None = None) -> Literature:
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
        )
    )
