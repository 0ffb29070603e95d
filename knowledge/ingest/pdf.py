"""PDF papers: best-effort title, authors and abstract, and every sentence of the text as evidence.

PDFs carry little reliable structure, so this reads the document metadata first
and falls back to the layout of the first page: the title is the first
substantial line, authors the short line(s) under it, the abstract whatever
follows an "Abstract" heading up to the introduction. The whole text is kept
as sentences (abstract first) so answers can quote the body too.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from pathlib import Path

from pydantic import ValidationError
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from knowledge.limits import MAX_AUTHOR_CHARS, MAX_SENTENCE_CHARS, MAX_TITLE_CHARS
from knowledge.papers import Paper, normalise_doi
from knowledge.text import split_sentences

__all__ = ["read_pdf", "PdfError"]

logger = logging.getLogger(__name__)
logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns loudly about harmless quirks

_MAX_PAGES = 60
_MAX_SENTENCES = 3_000
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)")
_ABSTRACT = re.compile(r"^\s*(?:a\s*b\s*s\s*t\s*r\s*a\s*c\s*t|summary)\b[\s:.\-—]*", re.I)
_BODY_START = re.compile(r"^\s*(?:(?:1|I)\.?\s+)?(?:introduction|background|keywords?|key\s+words|index terms)\b", re.I)
_NOT_AUTHORS = re.compile(r"(?:university|institute|department|abstract|@|\d{3,}|http)", re.I)
_BAD_META_TITLES = ("untitled", "microsoft word", ".doc", ".pdf", ".tex")


class PdfError(ValueError):
    """The bytes are not a readable PDF, or it holds no extractable text."""


def _clean(line: str) -> str:
    return " ".join(line.replace("\x00", "").split())


def _meta_title(reader: PdfReader) -> str | None:
    meta = reader.metadata
    title = _clean(str(meta.title)) if meta is not None and meta.title else ""
    if len(title.split()) < 2 or title.lower().startswith(_BAD_META_TITLES) or title.lower().endswith(_BAD_META_TITLES):
        return None
    return title


def _meta_authors(reader: PdfReader) -> list[str]:
    meta = reader.metadata
    raw = _clean(str(meta.author)) if meta is not None and meta.author else ""
    if not raw:
        return []
    return [a.strip() for a in re.split(r";|,| and ", raw) if a.strip()]


def _looks_like_authors(line: str) -> bool:
    words = line.replace(",", " ").split()
    if not 2 <= len(words) <= 30 or _NOT_AUTHORS.search(line) or line.endswith("."):
        return False
    capitalised = sum(1 for w in words if w[:1].isupper() or w.lower() in ("and", "de", "van", "von"))
    return capitalised / len(words) >= 0.8


def _split_names(lines: list[str]) -> list[str]:
    names: list[str] = []
    for line in lines:
        for part in re.split(r",|;| and |&", line):
            name = re.sub(r"[\d*†‡§]+$", "", part).strip()
            if name:
                names.append(name)
    return names


def _front_matter(lines: list[str]) -> tuple[str | None, list[str], int]:
    """Title, author names and the index of the first line after them, from page one."""
    title_at = next((i for i, line in enumerate(lines) if len(line.split()) >= 3 and not _ABSTRACT.match(line)), None)
    if title_at is None:
        return None, [], 0
    title = lines[title_at]
    at = title_at + 1
    # A title may wrap onto a second line that is clearly not an author line.
    if at < len(lines) and not _looks_like_authors(lines[at]) and not _ABSTRACT.match(lines[at]) and len(title) < 90:
        if lines[at][:1].islower() or len(lines[at].split()) <= 6:
            title, at = f"{title} {lines[at]}", at + 1
    author_lines: list[str] = []
    while at < len(lines) and len(author_lines) < 3 and _looks_like_authors(lines[at]):
        author_lines.append(lines[at])
        at += 1
    return title, _split_names(author_lines), at


def _abstract(lines: list[str]) -> tuple[str, int | None]:
    """The abstract text and where the body starts; empty when there is no Abstract heading."""
    start = next((i for i, line in enumerate(lines) if _ABSTRACT.match(line)), None)
    if start is None:
        return "", None
    parts = [_ABSTRACT.sub("", lines[start], count=1)]
    end = start + 1
    while end < len(lines) and not _BODY_START.match(lines[end]):
        parts.append(lines[end])
        end += 1
    return _dehyphenate(" ".join(p for p in parts if p)), end


def _is_heading(line: str) -> bool:
    return len(line.split()) <= 4 and bool(_BODY_START.match(line) or re.match(r"^\d+(\.\d+)*\.?\s+[A-Z]", line))


def _dehyphenate(text: str) -> str:
    return re.sub(r"(\w)- (\w)", r"\1\2", text)


def read_pdf(data: bytes | Path, *, name: str | None = None) -> Paper:
    """One Paper from a PDF's bytes (or file); raises PdfError when nothing usable is inside."""
    if isinstance(data, Path):
        name = name or data.name
        data = data.read_bytes()
    label = name or "PDF"
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages[:_MAX_PAGES]]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise PdfError(f"{label}: not a readable PDF ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files
        raise PdfError(f"{label}: not a readable PDF ({type(exc).__name__})") from None
    first = [_clean(line) for line in (pages[0] if pages else "").splitlines()]
    first = [line for line in first if line]
    everything = [_clean(line) for page in pages for line in page.splitlines()]
    everything = [line for line in everything if line]
    if not everything:
        raise PdfError(f"{label}: no extractable text (a scanned PDF needs OCR first)")
    title_from_page, authors_from_page, after_front = _front_matter(first)
    meta_title = _meta_title(reader)
    title = meta_title or title_from_page or Path(label).stem.replace("_", " ")
    authors = _meta_authors(reader) or authors_from_page
    abstract, body_at = _abstract(everything)
    if body_at is None:
        body_at = 0 if meta_title else after_front
    body_lines = [line for line in everything[body_at:] if not _is_heading(line)]
    sentences = split_sentences(abstract) if abstract else []
    seen = set(sentences)
    for sentence in split_sentences(_dehyphenate(" ".join(body_lines))):
        if sentence not in seen and len(sentence.split()) >= 3:
            seen.add(sentence)
            sentences.append(sentence)
    found_doi = _DOI.search(" ".join(first))
    doi = normalise_doi(found_doi.group(1).rstrip(".,;)]")) if found_doi else None
    year = re.search(r"\b(19[5-9]\d|20\d\d)\b", " ".join(first))
    paper_id = f"doi:{doi}" if doi else f"pdf:{hashlib.sha256(data).hexdigest()[:16]}"
    logger.debug("read %s: %d pages, %d sentences", label, len(pages), len(sentences))
    try:
        return Paper(
            id=paper_id,
            title=title[:MAX_TITLE_CHARS],  # a layout guess, not a record someone typed: cut, not refused
            authors=[a for a in authors if len(a) <= MAX_AUTHOR_CHARS],
            year=int(year.group(1)) if year else None,
            doi=doi,
            # An extracted table or reference list can run for pages without a full stop: not quotable.
            sentences=[s for s in sentences if len(s) <= MAX_SENTENCE_CHARS][:_MAX_SENTENCES],
            origin="pdf",
        )
    except ValidationError as exc:
        raise PdfError(f"{label}: {exc.errors()[0].get('msg')}") from None
