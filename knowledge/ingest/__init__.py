"""Ingest paper files into the store: detect the format, read, validate, add in batches.

Bad records are reported (file and line) and skipped; the good ones land, and
become searchable batch by batch while a long ingest runs. A file is remembered as
ingested (by its bytes *and* the format they were read as) only when every record
in it went in, so re-running a clean ingest is a no-op while a file that had
problems, or the same bytes under another extension, is read again.
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
from knowledge.limits import file_limit_message
from knowledge.papers import Paper
from knowledge.store import AddReport, PaperStore, encode
from knowledge.textcheck import replace_undecodable, without_controls

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
# Publish the index every this many batches, so papers are searchable while a long ingest
# runs; committing every batch would cost a bulk ingest a noticeable share of its speed.
_PUBLISH_EVERY = 4
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


def _digest(path: Path, fmt: str) -> str:
    """The file's identity for "already ingested": its bytes and the format they are read as."""
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return f"{fmt}:{h.hexdigest()}"


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
    size = path.stat().st_size
    too_big = file_limit_message(fmt, size)
    if too_big is not None:
        raise IngestError(f"{path}: {too_big}")
    digest = _digest(path, fmt)
    if store.file_already_ingested(digest):
        result.skipped_as_seen = True
        return result
    if fmt == "pdf":
        return _ingest_pdf(store, path, digest, result, added_by, on_problem)
    try:
        bar = tqdm(unit=" papers", desc=path.name, disable=not progress or size < 2_000_000, leave=False)
        with bar, store.db.bulk_writes():
            batches = from_process(_batches, path, fmt) if size >= PROCESS_MIN_BYTES else _batches(path, fmt)
            for number, (batch, encoded, lines, problems) in enumerate(ahead(batches), start=1):
                for problem in problems:
                    _report(result, problem, on_problem)
                if batch:
                    # Indexing threads work on the batch while the next one is read; the index is
                    # published every few batches, so a team can search what a big import added so far.
                    publish = number % _PUBLISH_EVERY == 0
                    report = store.add_papers(batch, added_by=added_by, commit_index=publish, encoded=encoded)
                    result.report.extend(report)
                    _report_conflicts(result, report, batch, lines, on_problem)
                    bar.update(len(batch))
    except UnicodeError as exc:
        raise IngestError(f"{path}: cannot read as text ({exc})") from exc
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except (ValueError, LookupError, TypeError, RecursionError) as exc:
        # A parser library's own failure on hostile input (the readers catch what they know of):
        # the file is refused in one line, the records before it stay in, nothing is remembered.
        logger.debug("reading %s failed", path, exc_info=True)
        raise IngestError(f"{path}: cannot be read as {fmt} ({type(exc).__name__}); fix the file and ingest it again") from None
    finally:
        store.index.sync()
    store.sync_dense()  # embeds the new papers when dense retrieval is on
    _remember(store, digest, result)
    logger.info("ingested %s", result.summary())
    return result


def _remember(store: PaperStore, digest: str, result: IngestResult) -> None:
    """Mark the file as done only when all of it went in: a file with problems is read again next time."""
    if result.problems:
        logger.info("%s had %d problems; not recorded as ingested, so it is read again", result.path, len(result.problems))
        return
    store.record_file(digest, result.path, result.report.total)


def _report_conflicts(
    result: IngestResult, report: AddReport, batch: list[Paper], lines: list[int],
    on_problem: Callable[[Problem], None] | None,
) -> None:
    """Each refused conflict as a problem at the line of the record that caused it."""
    if not report.conflicts:
        return
    line_of = {paper.id: line for paper, line in zip(batch, lines)}
    for conflict in report.conflicts:
        _report(result, Problem(result.path, line_of.get(conflict.id, 0), str(conflict)), on_problem)


def _ingest_pdf(
    store: PaperStore, path: Path, digest: str, result: IngestResult, added_by: str | None,
    on_problem: Callable[[Problem], None] | None,
) -> IngestResult:
    """A PDF is one paper: read it whole, then add it in one transaction."""
    try:
        paper = read_pdf(path)
    except PdfError as exc:
        raise IngestError(str(exc)) from None
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    report = store.add_papers([paper], added_by=added_by)
    result.report.extend(report)
    _report_conflicts(result, report, [paper], [1], on_problem)
    _remember(store, digest, result)
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
    """Ingest a file received as bytes (a chat upload); the format comes from its name.

    The name is the sender's: it is shown back as given (undecodable bytes aside), but the
    temporary file on disk is named only by its format, so no name can fail to be written.
    """
    name = replace_undecodable(without_controls(Path(filename.replace("\\", "/")).name)) or "upload"
    fmt = detect_format(Path(name))  # refuse unknown types before writing anything
    with tempfile.TemporaryDirectory(prefix="citewise-upload-") as folder:
        path = Path(folder) / f"upload{Path(name).suffix.lower()}"
        path.write_bytes(data)
        logger.debug("upload %r stored as %s (%s)", name, path, fmt)
        named = IngestResult(path=name, format=fmt)  # collects the problems under the upload's name

        def forward(problem: Problem) -> None:
            _report(named, Problem(name, problem.line, problem.message), on_problem)

        try:
            result = ingest_file(store, path, added_by=added_by, progress=False, on_problem=forward)
        except IngestError as exc:  # say it of the upload, never of a temporary path
            raise IngestError(str(exc).replace(str(path), name).replace(path.name, name)) from None
    result.path, result.problems = name, named.problems
    return result


Batch = tuple[list[Paper], list[tuple], list[int], list[Problem]]


def _batches(path: Path, fmt: str) -> Iterator[Batch]:
    """Validated papers in batches, with their stored form (`encode`), their lines and the problems met on the way, in file order."""
    batch: list[Paper] = []
    lines: list[int] = []
    problems: list[Problem] = []
    for item in READERS[fmt](path):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        line, record = item
        try:
            batch.append(to_paper(record))
            lines.append(line)
        except ValueError as exc:
            problems.append(Problem(str(path), line, str(exc)))
        except RecursionError:
            problems.append(Problem(str(path), line, "record nested too deeply"))
        if len(batch) >= _BATCH:
            yield batch, [encode(paper) for paper in batch], lines, problems
            batch, lines, problems = [], [], []
    if batch or problems:
        yield batch, [encode(paper) for paper in batch], lines, problems


def _report(result: IngestResult, problem: Problem, on_problem: Callable[[Problem], None] | None) -> None:
    result.problems.append(problem)
    if on_problem is not None:
        on_problem(problem)
    else:
        logger.warning("%s", problem)
