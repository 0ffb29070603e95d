"""Which files shared in chat Citewise reads as papers, decided before downloading them."""

from __future__ import annotations

from knowledge.ingest import SUFFIXES

__all__ = ["MAX_UPLOAD_BYTES", "PAPER_FILE_TYPES", "TOO_LARGE", "is_paper_file", "upload_refusal"]

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
# The file names a chat upload may have: whatever the ingester reads.
PAPER_FILE_TYPES = tuple(sorted(SUFFIXES))
TOO_LARGE = f"larger than {MAX_UPLOAD_BYTES // 2**20} MB"


def is_paper_file(filename: str) -> bool:
    return filename.lower().endswith(PAPER_FILE_TYPES)


def upload_refusal(filename: str, size: int) -> str | None:
    """Why a file shared in chat is not read, known before downloading it; None when it may be."""
    if not is_paper_file(filename):
        return f"{filename}: not a paper file (use .bib, .ris, .pdf, .jsonl or .csv)"
    if size > MAX_UPLOAD_BYTES:
        return f"{filename}: {TOO_LARGE}"
    return None
