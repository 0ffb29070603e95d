"""The paper record: what the store keeps for every paper, whatever file it came from."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from knowledge.text import normalise_title, split_sentences, tokenize

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

    @field_validator("id", "title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = " ".join(str(value).split())
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("doi")
    @classmethod
    def _clean_doi(cls, value: str | None) -> str | None:
        return normalise_doi(value)

    @field_validator("sentences")
    @classmethod
    def _clean_sentences(cls, value: list[str]) -> list[str]:
        # Keep empties out but keep order: indices are what evidence points at.
        return [" ".join(s.split()) for s in value if s and s.strip()]

    @classmethod
    def from_abstract(cls, *, abstract: str | list[str] | None, **fields: object) -> "Paper":
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


def normalise_doi(value: str | None) -> str | None:
    if value is None:
        return None
    doi = str(value).strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"):
        if doi.startswith(prefix):
            doi = doi[len(prefix):]
    doi = doi.strip()
    return doi or None
