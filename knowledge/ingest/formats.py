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

from knowledge.ingest.records import Problem

__all__ = ["read_jsonl", "read_bibtex", "read_ris", "read_csv", "Item"]

Item = tuple[int, dict[str, object]] | Problem


def read_jsonl(path: Path) -> Iterator[Item]:
    """SciFact corpus lines ({doc_id,title,abstract:[…]}) or the generic {id,title,abstract,…} form."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Problem(str(path), number, f"not valid JSON ({exc.msg})")
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
    text = path.read_text(encoding="utf-8", errors="replace")
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)  # we report bad blocks ourselves
    library = bibtexparser.parse_string(text)
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
        line = entry.start_line + 1
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
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            match = _RIS_LINE.match(line)
            if match is None:
                if record is not None and last_tag in ("AB", "N2", "TI", "T1"):
                    key = _RIS_FIELDS[last_tag]
                    record[key] = f"{record.get(key, '')} {line.strip()}"
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
                    record[key] = f"{record[key]} {value}".strip() if key in record else value
    if record is not None:
        yield Problem(str(path), start, "record has no 'ER  -' end line; skipped")


def read_csv(path: Path) -> Iterator[Item]:
    """A header row naming id,title,abstract,authors,year,venue,doi,url (any order, any subset with title)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "title" not in [f.strip().lower() for f in reader.fieldnames]:
            yield Problem(str(path), 1, "CSV header must name a 'title' column")
            return
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Problem(str(path), reader.line_num, f"unreadable CSV row ({exc})")
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if None in row:
                yield Problem(str(path), line, "row has more fields than the header")
                continue
            yield line, {k.strip().lower(): v for k, v in row.items() if k}
