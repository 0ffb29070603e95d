"""Readers for the file formats people export papers in.

Each reader yields `(line, record)` pairs or `Problem`s; one bad record never stops
the rest of the file.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import bibtexparser

from knowledge.ingest.lines import TOO_LONG, bounded_lines, read_text
from knowledge.ingest.records import Problem
from knowledge.limits import MAX_ABSTRACT_CHARS

__all__ = ["read_jsonl", "read_bibtex", "read_ris", "read_csv", "Item"]

Item = tuple[int, dict[str, object]] | Problem


def read_jsonl(path: Path) -> Iterator[Item]:
    """SciFact corpus lines ({doc_id,title,abstract:[…]}) or the generic {id,title,abstract,…} form."""
    for number, line in bounded_lines(path):
        if line is None:
            yield Problem(str(path), number, TOO_LONG)
            continue
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Problem(str(path), number, f"not valid JSON ({exc.msg})")
            continue
        except RecursionError:
            yield Problem(str(path), number, "JSON nested too deeply to be a paper record")
            continue
        if not isinstance(data, dict):
            yield Problem(str(path), number, "expected a JSON object")
            continue
        if "doc_id" in data and "id" not in data:
            data["id"] = data.pop("doc_id")
        yield number, data


_BRACES = re.compile(r"[{}]")


def _clean_tex(value: str) -> str:
    return " ".join(_BRACES.sub("", value.replace("\\&", "&").replace("~", " ")).split())


def read_bibtex(path: Path) -> Iterator[Item]:
    text = read_text(path)
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)  # we report bad blocks ourselves
    try:
        library = bibtexparser.parse_string(text)
    except Exception as exc:  # noqa: BLE001 - the parser's own failure on hostile input: one problem, not a crash
        yield Problem(str(path), 1, f"unreadable BibTeX file ({type(exc).__name__})")
        return
    items: list[tuple[int, Item]] = []
    for block in library.failed_blocks:
        line = getattr(block, "start_line", 0) + 1
        error = str(getattr(block, "error", "") or "").strip()
        items.append((line, Problem(str(path), line, f"unreadable BibTeX entry ({error or 'syntax error, e.g. an unclosed brace'})")))
    for entry in library.entries:
        fields = {f.key.lower(): _clean_tex(str(f.value)) for f in entry.fields}
        record: dict[str, object] = {
            "id": None,
            "title": fields.get("title"),
            "abstract": fields.get("abstract"),
            "authors": fields.get("author"),
            "year": fields.get("year"),
            "venue": fields.get("journal") or fields.get("booktitle") or fields.get("publisher"),
            "doi": fields.get("doi"),
            "url": fields.get("url"),
        }
        if fields.get("eprint") and (fields.get("archiveprefix", "").lower() == "arxiv"):
            record["id"] = f"arxiv:{fields['eprint']}"
        line = (entry.start_line or 0) + 1
        items.append((line, (line, record)))
    for _, item in sorted(items, key=lambda pair: pair[0]):
        yield item


_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")
_RIS_FIELDS = {
    "TI": "title", "T1": "title", "CT": "title",
    "AB": "abstract", "N2": "abstract",
    "AU": "authors", "A1": "authors",
    "PY": "year", "Y1": "year", "DA": "year",
    "JO": "venue", "JF": "venue", "T2": "venue", "JA": "venue",
    "DO": "doi", "UR": "url", "ID": "id",
}


def read_ris(path: Path) -> Iterator[Item]:
    record: dict[str, object] | None = None
    start = 0
    last_tag: str | None = None
    for number, raw in bounded_lines(path):
        if raw is None:
            yield Problem(str(path), number, TOO_LONG)
            continue
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        match = _RIS_LINE.match(line)
        if match is None:
            if record is not None and last_tag in ("AB", "N2", "TI", "T1"):
                key = _RIS_FIELDS[last_tag]
                _append(record, key, line.strip())
                continue
            yield Problem(str(path), number, f"not a RIS line: {line[:60]!r}")
            continue
        tag, value = match.group(1), (match.group(2) or "").strip()
        last_tag = tag
        if tag == "TY":
            if record is not None:
                yield Problem(str(path), start, "record has no 'ER  -' end line; skipped")
            record, start = {}, number
        elif tag == "ER":
            if record is None:
                yield Problem(str(path), number, "'ER  -' without a 'TY  -' start")
            else:
                yield start, record
            record = None
        elif record is None:
            yield Problem(str(path), number, f"{tag} outside a record (missing 'TY  -')")
        elif tag in _RIS_FIELDS:
            key = _RIS_FIELDS[tag]
            if key == "authors":
                authors = record.setdefault("authors", [])
                assert isinstance(authors, list)
                authors.append(value)
            elif key not in record or key == "abstract":
                _append(record, key, value)
    if record is not None:
        yield Problem(str(path), start, "record has no 'ER  -' end line; skipped")


def _append(record: dict[str, object], key: str, value: str) -> None:
    """Continue a field; past the abstract limit nothing more is kept (the record is then refused
    for its length), so a file of endless continuation lines costs no quadratic copying."""
    if key not in record:
        record[key] = value
        return
    old = str(record[key])
    if len(old) <= MAX_ABSTRACT_CHARS:
        record[key] = f"{old} {value}".strip()


def read_csv(path: Path) -> Iterator[Item]:
    """A header row naming id,title,abstract,authors,year,venue,doi,url (any order, any subset with title)."""
    overlong: list[int] = []

    def lines() -> Iterator[str]:
        for number, line in bounded_lines(path):
            if line is None:
                overlong.append(number)
                line = "\n"  # a blank line in its place keeps the reader's line numbers right
            yield line

    def too_long() -> Iterator[Problem]:
        while overlong:
            yield Problem(str(path), overlong.pop(0), TOO_LONG)

    reader = csv.DictReader(lines())
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        yield Problem(str(path), 1, f"unreadable CSV header ({exc})")
        return
    if not fieldnames or "title" not in [f.strip().lower() for f in fieldnames]:
        yield from too_long()
        yield Problem(str(path), 1, "CSV header must name a 'title' column")
        return
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            yield from too_long()
            return
        except csv.Error as exc:
            yield from too_long()
            yield Problem(str(path), reader.line_num, f"unreadable CSV row ({exc})")
            start = reader.line_num + 1
            continue
        yield from too_long()
        line, start = start, reader.line_num + 1
        if None in row:
            yield Problem(str(path), line, "row has more fields than the header")
            continue
        yield line, {k.strip().lower(): v for k, v in row.items() if k}
