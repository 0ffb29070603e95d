"""How big a file, a record and each part of a paper may be: every limit in one place.

Limits exist so that one careless export or hostile file cannot exhaust memory or
make every later answer slow (a 200 MB "sentence" once took a question 158 s). Each
is far above what real papers need (SciFact's longest line is 10 KB, its longest
sentence 1.6 KB, its longest title 300 characters) and is enforced where input
enters, with a message naming the file and line. README.md ("Limits") lists them.
"""

from __future__ import annotations

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_RECORD_BYTES",
    "MAX_ABSTRACT_CHARS",
    "MAX_SENTENCE_CHARS",
    "MAX_SENTENCES",
    "MAX_PAPER_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_AUTHOR_CHARS",
    "MAX_AUTHORS",
    "MAX_FIELD_CHARS",
    "file_limit_message",
]

_MB = 1024 * 1024

# Per format: line-oriented formats are streamed, so they may be large; BibTeX is parsed
# whole in memory (bibtexparser) and a PDF is read whole, so theirs are smaller.
MAX_FILE_BYTES: dict[str, int] = {
    "jsonl": 4096 * _MB,
    "csv": 2048 * _MB,
    "ris": 2048 * _MB,
    "bibtex": 256 * _MB,
    "pdf": 100 * _MB,
}
MAX_RECORD_BYTES = 1 * _MB  # one JSONL or CSV line, one RIS line
MAX_ABSTRACT_CHARS = 100_000  # an abstract given in a file record
MAX_SENTENCE_CHARS = 5_000  # one stored sentence (what an answer may quote)
MAX_SENTENCES = 5_000  # sentences per paper (a PDF's full text keeps at most 3,000)
MAX_PAPER_CHARS = 1_000_000  # all of one paper's stored sentences together (a PDF's full text)
MAX_TITLE_CHARS = 1_000
MAX_AUTHOR_CHARS = 300  # one author's name
MAX_AUTHORS = 5_000  # large physics collaborations list about 3,000
MAX_FIELD_CHARS = 2_000  # id, venue, DOI, URL


def file_limit_message(fmt: str, size: int) -> str | None:
    """Why a file of this format and size is refused, or None when it is within the limit."""
    limit = MAX_FILE_BYTES.get(fmt)
    if limit is None or size <= limit:
        return None
    return f"file is {size / _MB:,.1f} MB; the limit for {fmt} files is {limit // _MB:,} MB"
