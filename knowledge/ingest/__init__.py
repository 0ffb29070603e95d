"""Ingest paper files into the store: detect the format, read, validate, add in batches.

Bad records are reported (file and line) and skipped; the good ones land. A file
whose exact bytes were ingested before is skipped whole, so re-running an ingest
is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from knowledge.ingest.formats import Item, read_bibtex, read_csv, read_jsonl, read_ris
from knowledge.ingest.prefetch import ahead
from knowledge.ingest.records import Problem, to_paper
from knowledge.papers import Paper
from knowledge.store import AddReport, PaperStore

__all__ = ["IngestError", "IngestResult", "ingest_file", "detect_format", "READERS", "Problem"]

logger = logging.getLogger(__name__)

READERS: dict[str, Callable[[Path], Iterator[Item]]] = {
    "jsonl": read_jsonl,
    "bibtex": read_bibtex,
    "ris": read_ris,
    "csv": read_csv,
}
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".bib": "bibtex", ".bibtex": "bibtex", ".ris": "ris", ".csv": "csv"}
_BATCH = 5_000


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
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_SUFFIXES))
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
    size = path.stat().st_size
    try:
        with tqdm(unit=" papers", desc=path.name, disable=not progress or size < 2_000_000, leave=False) as bar:
            for batch, problems in ahead(_batches(path, fmt)):
                for problem in problems:
                    _report(result, problem, on_problem)
                if batch:
                    result.report.extend(store.add_papers(batch, added_by=added_by, index=False))
                    store.index.sync(commit=False)  # indexing threads work while the next batch is read
                    bar.update(len(batch))
    except UnicodeError as exc:
        raise IngestError(f"{path}: cannot read as text ({exc})") from exc
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    finally:
        store.index.sync()
    store.record_file(digest, str(path), result.report.total)
    logger.info("ingested %s", result.summary())
    return result


def _batches(path: Path, fmt: str) -> Iterator[tuple[list[Paper], list[Problem]]]:
    """Validated papers in batches, with the problems met on the way, in file order."""
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
            yield batch, problems
            batch, problems = [], []
    if batch or problems:
        yield batch, problems


def _report(result: IngestResult, problem: Problem, on_problem: Callable[[Problem], None] | None) -> None:
    result.problems.append(problem)
    if on_problem is not None:
        on_problem(problem)
    else:
        logger.warning("%s", problem)
