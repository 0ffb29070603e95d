"""Ingest paper files into the store: detect the format, read, validate, add in batches.

Bad records are reported (file and line) and skipped; the good ones land. A file
whose exact bytes were ingested before is skipped whole, so re-running an ingest
is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from knowledge.ingest.formats import Item, read_bibtex, read_csv, read_jsonl, read_ris
from knowledge.ingest.pdf import PdfError, read_pdf
from knowledge.ingest.prefetch import ahead, from_process
from knowledge.ingest.records import Problem, to_paper
from knowledge.papers import Paper
from knowledge.store import AddReport, PaperStore, encode

__all__ = ["SUFFIXES", "IngestError", "IngestResult", "ingest_file", "ingest_bytes", "detect_format", "READERS", "Problem"]

logger = logging.getLogger(__name__)

READERS: dict[str, Callable[[Path], Iterator[Item]]] = {
    "jsonl": read_jsonl,
    "bibtex": read_bibtex,
    "ris": read_ris,
    "csv": read_csv,
}
SUFFIXES = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".bib": "bibtex", ".bibtex": "bibtex", ".ris": "ris", ".csv": "csv", ".pdf": "pdf",
}
_BATCH = 5_000
# From this size on, records are parsed and validated in a separate process (see prefetch):
# ~20k abstracts, where the ~1 s it takes to start one is well repaid.
PROCESS_MIN_BYTES = 32_000_000


class IngestError(Exception):
    """The file as a whole cannot be ingested (missing, unreadable, unknown format)."""


@dataclass
class IngestResult:
    path: str
    format: str
    report: AddReport = field(default_factory=AddReport)
    problems: list[Problem] = field(default_factory=list)
    skipped_as_seen: bool = False

    def summary(self) -> str:
        if self.skipped_as_seen:
            return f"{self.path}: already ingested, nothing to do"
        r = self.report
        parts = [f"{len(r.added)} added", f"{len(r.merged)} merged into existing", f"{len(r.unchanged)} already present"]
        if self.problems:
            parts.append(f"{len(self.problems)} skipped (see above)")
        return f"{self.path}: " + ", ".join(parts)


def detect_format(path: Path) -> str:
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUFFIXES))
        raise IngestError(f"{path}: unknown format {path.suffix or '(no extension)'!r}; known: {known}")
    return fmt


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ingest_file(
    store: PaperStore,
    path: str | Path,
    *,
    added_by: str | None = None,
    progress: bool = True,
    on_problem: Callable[[Problem], None] | None = None,
) -> IngestResult:
    """Read one file into the store; see the module docstring for what "bad" does."""
    path = Path(path)
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a file")
    fmt = detect_format(path)
    result = IngestResult(path=str(path), format=fmt)
    digest = _digest(path)
    if store.file_already_ingested(digest):
        result.skipped_as_seen = True
        return result
    if fmt == "pdf":
        return _ingest_pdf(store, path, digest, result, added_by)
    size = path.stat().st_size
    try:
        bar = tqdm(unit=" papers", desc=path.name, disable=not progress or size < 2_000_000, leave=False)
        with bar, store.db.bulk_writes():
            batches = from_process(_batches, path, fmt) if size >= PROCESS_MIN_BYTES else _batches(path, fmt)
            for batch, encoded, problems in ahead(batches):
                for problem in problems:
                    _report(result, problem, on_problem)
                if batch:
                    # Indexing threads work on the batch while the next one is read; one commit at the end.
                    report = store.add_papers(batch, added_by=added_by, commit_index=False, encoded=encoded)
                    result.report.extend(report)
                    bar.update(len(batch))
    except UnicodeError as exc:
        raise IngestError(f"{path}: cannot read as text ({exc})") from exc
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    finally:
        store.index.sync()
    store.sync_dense()  # embeds the new papers when dense retrieval is on
    store.record_file(digest, str(path), result.report.total)
    logger.info("ingested %s", result.summary())
    return result


def _ingest_pdf(store: PaperStore, path: Path, digest: str, result: IngestResult, added_by: str | None) -> IngestResult:
    """A PDF is one paper: read it whole, then add it in one transaction."""
    try:
        paper = read_pdf(path)
    except PdfError as exc:
        raise IngestError(str(exc)) from None
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    result.report.extend(store.add_papers([paper], added_by=added_by))
    store.record_file(digest, str(path), result.report.total)
    logger.info("ingested %s", result.summary())
    return result


def ingest_bytes(
    store: PaperStore,
    filename: str,
    data: bytes,
    *,
    added_by: str | None = None,
    on_problem: Callable[[Problem], None] | None = None,
) -> IngestResult:
    """Ingest a file received as bytes (a chat upload); the format comes from its name."""
    name = Path(filename).name or "upload"
    detect_format(Path(name))  # refuse unknown types before writing anything
    with tempfile.TemporaryDirectory(prefix="citewise-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        result = ingest_file(store, path, added_by=added_by, progress=False, on_problem=on_problem)
    result.path = name
    result.problems = [Problem(name, p.line, p.message) for p in result.problems]
    return result


def _batches(path: Path, fmt: str) -> Iterator[tuple[list[Paper], list[tuple], list[Problem]]]:
    """Validated papers in batches, with their stored form (`encode`) and the problems met on the way, in file order."""
    batch: list[Paper] = []
    problems: list[Problem] = []
    for item in READERS[fmt](path):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        line, record = item
        try:
            batch.append(to_paper(record))
        except ValueError as exc:
            problems.append(Problem(str(path), line, str(exc)))
        if len(batch) >= _BATCH:
            yield batch, [encode(paper) for paper in batch], problems
            batch, problems = [], []
    if batch or problems:
        yield batch, [encode(paper) for paper in batch], problems


def _report(result: IngestResult, problem: Problem, on_problem: Callable[[Problem], None] | None) -> None:
    result.problems.append(problem)
    if on_problem is not None:
        on_problem(problem)
    else:
        logger.warning("%s", problem)
