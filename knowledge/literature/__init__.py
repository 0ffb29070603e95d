"""Papers from the wider literature: OpenAlex, arXiv and Crossref, politely.

Everything here returns `knowledge.papers.Paper`s with `origin` set to the source,
or raises a `LiteratureError` (see `knowledge.literature.errors` for the tree).
"""

from knowledge.literature.errors import (
    BadIdentifier,
    LiteratureError,
    MalformedResponse,
    NotFound,
    RateLimited,
    SourceTimeout,
    SourceUnavailable,
)
from knowledge.literature.http import ClientConfig, Clock, PoliteClient, SystemClock, user_agent
from knowledge.literature.identifiers import Identifier, parse_identifier
from knowledge.literature.openalex import rebuild_abstract
from knowledge.literature.sources import Literature, LiteratureConfig, SearchSource

__all__ = [
    "BadIdentifier",
    "ClientConfig",
    "Clock",
    "SystemClock",
    "Identifier",
    "Literature",
    "LiteratureConfig",
    "LiteratureError",
    "MalformedResponse",
    "NotFound",
    "PoliteClient",
    "RateLimited",
    "SearchSource",
    "SourceTimeout",
    "SourceUnavailable",
    "parse_identifier",
    "rebuild_abstract",
    "user_agent",
]
