"""The paper record: what the store keeps for every paper, whatever file it came from."""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from knowledge.limits import (
    MAX_AUTHOR_CHARS,
    MAX_AUTHORS,
    MAX_FIELD_CHARS,
    MAX_PAPER_CHARS,
    MAX_SENTENCE_CHARS,
    MAX_SENTENCES,
    MAX_TITLE_CHARS,
)
from knowledge.text import normalise_title, split_sentences, tokenize
from knowledge.textcheck import clean_text

__all__ = ["Paper"]


class Paper(BaseModel):
    """A paper with its abstract kept as a list of sentences, so evidence is quoted by index."""

    id: str
    title: str
    sentences: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    url: str | None = None
    origin: str = "file"  # where it came from: file, openalex, arxiv, crossref, pdf …
    added_by: str | None = None
    added_at: str | None = None  # set by the store (UTC, ISO 8601) when the paper first lands

    # Every way into the store (files, PDFs, literature sources, chat uploads) builds a Paper,
    # so text is checked here once: control characters dropped, undecodable bytes and
    # oversized parts refused (knowledge/limits.py).
    @field_validator("id", "title")
    @classmethod
    def _not_blank(cls, value: str, info: ValidationInfo) -> str:
        value = " ".join(clean_text(str(value)).split())
        if not value:
            raise ValueError("must not be empty")
        _within(value, MAX_TITLE_CHARS if info.field_name == "title" else MAX_FIELD_CHARS, str(info.field_name))
        return value

    @field_validator("venue", "url")
    @classmethod
    def _clean_field(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        value = clean_text(value)
        _within(value, MAX_FIELD_CHARS, str(info.field_name))
        return value

    @field_validator("doi")
    @classmethod
    def _clean_doi(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _within(value, MAX_FIELD_CHARS, "doi")
        return normalise_doi(clean_text(value))

    @field_validator("authors")
    @classmethod
    def _clean_authors(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_AUTHORS:
            raise ValueError(f"{len(value):,} authors; the limit is {MAX_AUTHORS:,}")
        names = [" ".join(clean_text(name).split()) for name in value]
        for name in names:
            _within(name, MAX_AUTHOR_CHARS, "an author's name")
        return [name for name in names if name]

    @field_validator("sentences")
    @classmethod
    def _clean_sentences(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_SENTENCES:
            raise ValueError(f"{len(value):,} sentences; the limit is {MAX_SENTENCES:,}")
        # Keep empties out but keep order: indices are what evidence points at.
        sentences = [" ".join(clean_text(s).split()) for s in value if s and s.strip()]
        for number, sentence in enumerate(sentences, start=1):
            _within(sentence, MAX_SENTENCE_CHARS, f"sentence {number}")
        total = sum(len(s) for s in sentences)
        if total > MAX_PAPER_CHARS:
            raise ValueError(f"the text is {total:,} characters long; the limit is {MAX_PAPER_CHARS:,}")
        return [s for s in sentences if s]

    @classmethod
    def from_abstract(cls, *, abstract: str | list[str] | None, **fields: object) -> Paper:
        """Build a paper from either a pre-split abstract or running text."""
        if abstract is None:
            sentences: list[str] = []
        elif isinstance(abstract, list):
            sentences = [str(s) for s in abstract]
        else:
            sentences = split_sentences(str(abstract))
        return cls(sentences=sentences, **fields)  # type: ignore[arg-type]

    @property
    def abstract(self) -> str:
        return " ".join(self.sentences)

    def coverage(self, wanted: set[str]) -> float:
        """Share of the wanted (stemmed) terms that the title or abstract mentions: is it about them at all?"""
        if not wanted:
            return 0.0
        return len(wanted & set(tokenize(self.title + " " + self.abstract))) / len(wanted)

    @property
    def title_key(self) -> str:
        return normalise_title(self.title)

    @property
    def link(self) -> str | None:
        if self.url:
            return self.url
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return None


def _within(value: str, limit: int, what: str) -> None:
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value):,} characters long; the limit is {limit:,}")


def normalise_doi(value: str | None) -> str | None:
    if value is None:
        return None
    doi = str(value).strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"):
        if doi.startswith(prefix):
            doi = doi[len(prefix):]
    doi = doi.strip()
    return doi or None
