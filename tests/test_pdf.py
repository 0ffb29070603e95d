"""PDF ingestion on real PDF bytes (written by hand, read back by pypdf)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.ingest import IngestError, ingest_file
from knowledge.ingest.pdf import PdfError, read_pdf
from knowledge.store import PaperStore
from tests.fakes.pdf import make_pdf

PAGES = [
    [
        "Intermittent fasting and insulin sensitivity in adults",
        "Jane Smith, Rahul Gupta and Olu Ade",
        "Department of Nutrition, Example University",
        "Abstract",
        "Intermittent fasting is popular. In a randomized trial of 120 adults, eight weeks",
        "of time-restricted eating improved insulin sensitivity by 18% compared with control.",
        "1 Introduction",
        "Insulin resistance precedes type 2 diabetes. See doi 10.1234/fast.2020.7 for data.",
    ],
    ["2 Results", "Results were consistent across age groups. Weight loss explained part of the effect."],
]


def test_title_authors_abstract_and_body_sentences_from_the_first_page() -> None:
    paper = read_pdf(make_pdf(PAGES), name="fasting.pdf")
    assert paper.title == "Intermittent fasting and insulin sensitivity in adults"
    assert paper.authors == ["Jane Smith", "Rahul Gupta", "Olu Ade"]
    assert paper.sentences[:2] == [
        "Intermittent fasting is popular.",
        "In a randomized trial of 120 adults, eight weeks of time-restricted eating improved insulin sensitivity by 18% compared with control.",
    ]
    assert "Weight loss explained part of the effect." in paper.sentences  # page two is evidence too
    assert paper.doi == "10.1234/fast.2020.7" and paper.id == "doi:10.1234/fast.2020.7" and paper.origin == "pdf"


def test_document_metadata_wins_when_present() -> None:
    data = make_pdf([["Some running text here. And another sentence here."]], title="Metadata Title Of The Paper",
                    author="A. One; B. Two")
    paper = read_pdf(data)
    assert paper.title == "Metadata Title Of The Paper" and paper.authors == ["A. One", "B. Two"]
    assert paper.sentences == ["Some running text here.", "And another sentence here."]
    assert paper.id.startswith("pdf:")


def test_garbage_and_empty_pdfs_are_refused() -> None:
    with pytest.raises(PdfError, match="not a readable PDF"):
        read_pdf(b"this is not a pdf", name="x.pdf")
    with pytest.raises(PdfError, match="no extractable text"):
        read_pdf(make_pdf([[]]), name="scan.pdf")


def test_ingest_file_dispatches_pdf_and_skips_it_the_second_time(tmp_path: Path, store: PaperStore) -> None:
    path = tmp_path / "fasting.pdf"
    path.write_bytes(make_pdf(PAGES))
    result = ingest_file(store, path, added_by="cli:test", progress=False)
    assert result.format == "pdf" and result.report.added == ["doi:10.1234/fast.2020.7"]
    stored = store.get("doi:10.1234/fast.2020.7")
    assert stored is not None and stored.added_by == "cli:test" and stored.added_at
    assert ingest_file(store, path, progress=False).skipped_as_seen
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 truncated")
    with pytest.raises(IngestError, match="broken.pdf"):
        ingest_file(store, broken, progress=False)
    assert store.count() == 13
