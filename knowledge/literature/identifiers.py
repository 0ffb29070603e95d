"""Recognise the ways people paste a paper reference: DOI, arXiv id, OpenAlex id, PMID, or a URL.

Chat users paste whatever is in their browser's address bar, so URLs of doi.org,
arxiv.org (abs and pdf), openalex.org and PubMed are unwrapped to the identifier.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import unquote, urlparse

from pydantic import BaseModel

from knowledge.literature.errors import BadIdentifier

__all__ = ["Identifier", "IdentifierKind", "parse_identifier"]

IdentifierKind = Literal["doi", "arxiv", "openalex", "pmid"]

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
_ARXIV_OLD = re.compile(r"^([a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?$", re.I)
_OPENALEX = re.compile(r"^W\d{3,}$", re.I)
_PMID = re.compile(r"^\d{1,9}$")
_TRAILING = ".,;:)]}>\"'"


class Identifier(BaseModel):
    """A typed paper identifier; `value` is in the source's canonical form."""

    kind: IdentifierKind
    value: str

    @property
    def paper_id(self) -> str:
        """The store id a paper fetched by this identifier would get if it had nothing better."""
        return f"{self.kind}:{self.value}"

    def __str__(self) -> str:
        return self.paper_id


def _arxiv(text: str) -> Identifier | None:
    text = text.removesuffix(".pdf")
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        match = pattern.match(text)
        if match:
            return Identifier(kind="arxiv", value=match.group(1))
    return None


def _from_url(text: str) -> Identifier | None:
    url = urlparse(text)
    host = (url.hostname or "").lower().removeprefix("www.")
    path = unquote(url.path).strip("/")
    if host in ("doi.org", "dx.doi.org"):
        return _doi(path)
    if host in ("arxiv.org", "export.arxiv.org"):
        for prefix in ("abs/", "pdf/", "html/"):
            if path.startswith(prefix):
                return _arxiv(path[len(prefix):])
        return None
    if host in ("openalex.org", "api.openalex.org"):
        tail = path.split("/")[-1]
        return Identifier(kind="openalex", value=tail.upper()) if _OPENALEX.match(tail) else None
    if host in ("pubmed.ncbi.nlm.nih.gov", "ncbi.nlm.nih.gov"):
        tail = path.split("/")[-1]
        return Identifier(kind="pmid", value=tail) if _PMID.match(tail) else None
    return None


def _doi(text: str) -> Identifier | None:
    text = text.strip().rstrip(_TRAILING)
    return Identifier(kind="doi", value=text.lower()) if _DOI.match(text) else None


def parse_identifier(text: str) -> Identifier:
    """Parse one reference; raises BadIdentifier with a hint when it is none we know."""
    raw = text.strip().strip("<>").strip()  # Slack wraps links as <url> or <url|label>
    raw = raw.split("|", 1)[0].rstrip(_TRAILING)
    lowered = raw.lower()
    found: Identifier | None = None
    if lowered.startswith(("http://", "https://")):
        found = _from_url(raw)
    elif lowered.startswith("doi:"):
        found = _doi(raw[4:])
    elif lowered.startswith("arxiv:"):
        found = _arxiv(raw[6:].strip())
    elif lowered.startswith(("pmid:", "pubmed:")):
        tail = raw.split(":", 1)[1].strip()
        found = Identifier(kind="pmid", value=tail) if _PMID.match(tail) else None
    elif lowered.startswith("openalex:"):
        tail = raw.split(":", 1)[1].strip()
        found = Identifier(kind="openalex", value=tail.upper()) if _OPENALEX.match(tail) else None
    elif raw.startswith("10."):
        found = _doi(raw)
    elif _OPENALEX.match(raw):
        found = Identifier(kind="openalex", value=raw.upper())
    else:
        found = _arxiv(raw)
    if found is None:
        raise BadIdentifier(
            f"{text.strip()[:80]!r} is not a DOI, arXiv id, OpenAlex id, PMID (pmid:123) or doi.org/arxiv.org/openalex.org link"
        )
    return found
