"""Why a literature source could not give us papers.

    LiteratureError
    ├── BadIdentifier        the text is not a DOI, arXiv id, OpenAlex id, PMID or known URL
    ├── NotFound             the source answered, and has no such work
    ├── MalformedResponse    the source answered with something we cannot read
    └── SourceUnavailable    we could not get an answer at all
        ├── RateLimited      still 429 after honouring Retry-After
        └── SourceTimeout    no answer within the timeout

Every message names the source and is one readable line, so the CLI and the chat
replies can show it as is.
"""

from __future__ import annotations

__all__ = [
    "LiteratureError",
    "BadIdentifier",
    "NotFound",
    "MalformedResponse",
    "SourceUnavailable",
    "RateLimited",
    "SourceTimeout",
]


class LiteratureError(Exception):
    """A literature source could not deliver what was asked."""

    def __init__(self, message: str, *, source: str = "") -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source


class BadIdentifier(LiteratureError, ValueError):
    """The reference is not one we know how to look up."""


class NotFound(LiteratureError):
    """The source has no work for this identifier."""


class MalformedResponse(LiteratureError):
    """The source answered, but not in the shape its documentation promises."""


class SourceUnavailable(LiteratureError):
    """Connection failures and server errors that outlasted our retries."""


class RateLimited(SourceUnavailable):
    """The source kept answering 429 Too Many Requests."""


class SourceTimeout(SourceUnavailable):
    """The source did not answer within the configured timeout."""
