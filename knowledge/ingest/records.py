"""Turning loosely-typed records from any file format into validated `Paper`s."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from pydantic import ValidationError

from knowledge.limits import MAX_ABSTRACT_CHARS
from knowledge.papers import Paper, normalise_doi
from knowledge.text import normalise_title

__all__ = ["Problem", "to_paper", "split_authors", "parse_year"]

_ARXIV = re.compile(r"(?:arxiv[:/ ]|abs/)(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})", re.I)


@dataclass(frozen=True)
class Problem:
    """A record that could not be ingested, located so a person can fix it."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _kind(value: object) -> str:
    return "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else type(value).__name__


def _scalar(record: dict[str, object], key: str) -> str | None:
    """A field that must be one value: text or a number, never an object or a list (no Python reprs stored)."""
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{key} must be text or a number, not {_kind(value)}")
    return str(value).strip() or None


def split_authors(value: object) -> list[str]:
    """Authors as "A and B", "A; B", a list of names or a list of {"name": …} objects."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        names = []
        for item in value:
            name = item.get("name") if isinstance(item, dict) else item
            if not isinstance(name, str):
                raise ValueError(f"authors must be names (text), not {_kind(name)}")
            names.append(name)
    elif not isinstance(value, str):
        raise ValueError(f"authors must be text or a list of names, not {_kind(value)}")
    else:
        text = value
        sep = " and " if " and " in text else (";" if ";" in text else None)
        names = text.split(sep) if sep else [text]
    return [" ".join(n.split()) for n in names if n and str(n).strip()]


def parse_year(value: object) -> int | None:
    if value is None or value == "":
        return None
    match = re.search(r"\b(1[5-9]\d\d|20\d\d)\b", str(value))
    if not match:
        raise ValueError(f"year {value!r} is not a year")
    return int(match.group(1))


def _fallback_id(title: str, doi: str | None, url: str | None) -> str:
    if doi:
        return f"doi:{doi}"
    for text in (url or "",):
        match = _ARXIV.search(text)
        if match:
            return f"arxiv:{match.group(1)}"
    digest = hashlib.sha1(normalise_title(title).encode()).hexdigest()[:12]
    return f"t:{digest}"


def to_paper(record: dict[str, object], *, origin: str = "file") -> Paper:
    """Validate one record; raises ValueError with a readable message when it is unusable."""
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("record has no title")
    abstract = record.get("abstract")
    if abstract is not None and not isinstance(abstract, (str, list)):
        raise ValueError("abstract must be text or a list of sentences")
    if isinstance(abstract, list) and not all(isinstance(s, str) for s in abstract):
        raise ValueError("abstract list must hold only sentences (strings)")
    length = len(abstract) if isinstance(abstract, str) else sum(len(s) for s in abstract or ())
    if length > MAX_ABSTRACT_CHARS:
        raise ValueError(f"abstract is {length:,} characters long; the limit is {MAX_ABSTRACT_CHARS:,}")
    doi = normalise_doi(_scalar(record, "doi"))
    url = _scalar(record, "url")
    paper_id = _scalar(record, "id") or _fallback_id(title, doi, url)
    try:
        return Paper.from_abstract(
            abstract=abstract,
            id=paper_id,
            title=title,
            authors=split_authors(record.get("authors")),
            year=parse_year(_scalar(record, "year")),
            venue=_scalar(record, "venue"),
            doi=doi,
            url=url,
            origin=origin,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", "")).removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}") from None
