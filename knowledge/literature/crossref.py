"""Crossref metadata by DOI: the registry's own record of title, authors, venue and date.

Crossref abstracts, when deposited at all, are JATS XML fragments; tags are
stripped so the sentences read as plain text.
"""

from __future__ import annotations

import html
import re

from knowledge.literature.errors import MalformedResponse
from knowledge.literature.http import PoliteClient
from knowledge.literature.records import build_paper
from knowledge.papers import Paper, normalise_doi

__all__ = ["CrossrefClient", "message_to_paper", "DEFAULT_CROSSREF_URL"]

DEFAULT_CROSSREF_URL = "https://api.crossref.org"
_TAG = re.compile(r"<[^>]+>")
_LEADING_LABEL = re.compile(r"^\s*abstract[:.]?\s+", re.I)


def _first(value: object) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _year(message: dict) -> int | None:
    for key in ("issued", "published", "published-print", "published-online", "created"):
        part = message.get(key)
        try:
            year = part["date-parts"][0][0]  # type: ignore[index]
        except (TypeError, KeyError, IndexError):
            continue
        if isinstance(year, int):
            return year
    return None


def _authors(message: dict) -> list[str]:
    names = []
    for person in message.get("author") or []:
        if not isinstance(person, dict):
            continue
        name = " ".join(p for p in (person.get("given"), person.get("family")) if isinstance(p, str) and p)
        if not name and isinstance(person.get("name"), str):
            name = person["name"]
        if name:
            names.append(name)
    return names


def message_to_paper(message: object) -> Paper:
    """A Crossref work `message` as a Paper; raises ValueError when it lacks a DOI or title."""
    if not isinstance(message, dict):
        raise ValueError("message is not a JSON object")
    doi = normalise_doi(message["DOI"]) if isinstance(message.get("DOI"), str) else None
    title = _first(message.get("title"))
    if not doi or not title:
        raise ValueError("work has no DOI or no title")
    abstract = message.get("abstract")
    text = html.unescape(_TAG.sub(" ", abstract)) if isinstance(abstract, str) else ""
    return build_paper(
        doi,
        abstract=_LEADING_LABEL.sub("", " ".join(text.split())),
        id=f"doi:{doi}",
        title=title,
        authors=_authors(message),
        year=_year(message),
        venue=_first(message.get("container-title")),
        doi=doi,
        url=f"https://doi.org/{doi}",
        origin="crossref",
    )


class CrossrefClient:
    source = "crossref"

    def __init__(self, http: PoliteClient) -> None:
        self.http = http

    async def work(self, doi: str) -> Paper:
        params: dict[str, str | int] = {"mailto": self.http.config.mailto} if self.http.config.mailto else {}
        body = await self.http.get_json(f"works/{doi}", params)
        if not isinstance(body, dict) or body.get("status") not in (None, "ok"):
            raise MalformedResponse(f"unexpected answer for {doi}", source=self.source)
        try:
            return message_to_paper(body.get("message"))
        except ValueError as exc:
            raise MalformedResponse(f"unusable record for {doi}: {exc}", source=self.source) from None
