"""Ingesting every supported format, including the bad records people really have."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.index import WeightedTerm
from knowledge.ingest import IngestError, ingest_file
from knowledge.store import PaperStore
from tests.conftest import PAPERS, write_jsonl


@pytest.fixture
def empty(db_path: Path) -> PaperStore:
    s = PaperStore(db_path)
    yield s
    s.close()


def test_scifact_format_keeps_doc_id_and_sentence_list(empty: PaperStore, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "corpus.jsonl", [
        {"doc_id": 4983, "title": "White matter in newborns", "abstract": ["First sentence.", "Second one.  \n"], "structured": False},
    ])
    result = ingest_file(empty, path, progress=False)
    assert result.report.added == ["4983"]
    paper = empty.get("4983")
    assert paper is not None and paper.sentences == ["First sentence.", "Second one."]


def test_generic_jsonl_with_running_text_is_split_into_sentences(empty: PaperStore, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "g.jsonl", [
        {"id": "p1", "title": "A title", "abstract": "We did X, e.g. this. Results were good. 3 patients died.",
         "authors": "Ruiz, Ana and Berg, Tom", "year": "2019", "venue": "J", "doi": "https://doi.org/10.1/ABC", "url": None},
    ])
    ingest_file(empty, path, progress=False)
    paper = empty.get("p1")
    assert paper is not None
    assert paper.sentences == ["We did X, e.g. this.", "Results were good.", "3 patients died."]
    assert paper.authors == ["Ruiz, Ana", "Berg, Tom"]
    assert (paper.year, paper.doi) == (2019, "10.1/abc")


def test_malformed_jsonl_lines_are_reported_with_line_numbers_and_the_rest_lands(empty: PaperStore, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"id": "ok1", "title": "Good one", "abstract": "Fine."}) + "\n"
        + "{not json\n"
        + json.dumps({"id": "nt", "abstract": "No title here."}) + "\n"
        + json.dumps(["a", "list"]) + "\n"
        + json.dumps({"id": "by", "title": "Bad year", "year": "soon"}) + "\n"
        + json.dumps({"id": "ok2", "title": "Good two", "abstract": ["Also fine."]}) + "\n",
        encoding="utf-8",
    )
    result = ingest_file(empty, path, progress=False)
    assert sorted(result.report.added) == ["ok1", "ok2"]
    assert [p.line for p in result.problems] == [2, 3, 4, 5]
    assert all(str(path) in str(p) for p in result.problems)
    assert "title" in result.problems[1].message


def test_bibtex_with_abstracts_and_a_broken_entry(empty: PaperStore, tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(
        """@article{ruiz2019,
  title = {Vitamin {D} and fractures},
  author = {Ruiz, Ana and Berg, Tom},
  journal = {Journal of Bone Research},
  year = {2019},
  doi = {10.1000/vitd.2019.1},
  abstract = {We randomised 2,400 adults. Vitamin D did not reduce fractures.}
}

@article{broken,
  title = {Missing brace
  year = 2020,

@inproceedings{lee2020,
  title = {Sleep and memory},
  author = {Lee, Kim},
  booktitle = {Proc. Sleep},
  year = 2020,
  abstract = {Sleep loss impaired recall.}
}
""",
        encoding="utf-8",
    )
    result = ingest_file(empty, path, progress=False)
    titles = sorted(p.title for p in empty.get_many(result.report.added).values())
    assert "Vitamin D and fractures" in titles
    vitd = empty.get("doi:10.1000/vitd.2019.1")
    assert vitd is not None
    assert vitd.sentences == ["We randomised 2,400 adults.", "Vitamin D did not reduce fractures."]
    assert vitd.authors == ["Ruiz, Ana", "Berg, Tom"] and vitd.venue == "Journal of Bone Research"
    assert titles == ["Sleep and memory", "Vitamin D and fractures"]  # the broken entry takes no good one down
    assert [p.line for p in result.problems] == [10]


def test_ris_records_and_a_record_without_end(empty: PaperStore, tmp_path: Path) -> None:
    path = tmp_path / "refs.ris"
    path.write_text(
        "TY  - JOUR\nTI  - Coffee and the liver\nAU  - Novak, Sara\nAU  - Lee, Kim\nPY  - 2015\nJO  - Hepatology\n"
        "DO  - 10.5/coffee\nAB  - Coffee drinkers had less cirrhosis. The effect was dose dependent.\nER  - \n"
        "TY  - JOUR\nTI  - Never ends\n"
        "TY  - JOUR\nTI  - Salt and blood pressure\nPY  - 2013\nAB  - Less salt lowered pressure.\nER  - \n",
        encoding="utf-8",
    )
    result = ingest_file(empty, path, progress=False)
    assert len(result.report.added) == 2
    assert [p.line for p in result.problems] == [10]
    coffee = empty.get("doi:10.5/coffee")
    assert coffee is not None and coffee.authors == ["Novak, Sara", "Lee, Kim"] and coffee.year == 2015
    assert coffee.sentences == ["Coffee drinkers had less cirrhosis.", "The effect was dose dependent."]


def test_csv_rows_with_a_bad_row(empty: PaperStore, tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    path.write_text(
        'id,title,abstract,authors,year\n'
        'c1,Masks and flu,"Masks reduced infections. Early use mattered.",Ana Ruiz; Tom Berg,2012\n'
        'c2,,"No title.",,2010\n'
        'c3,Stress and telomeres,"Stress shortened telomeres.",,2004\n',
        encoding="utf-8",
    )
    result = ingest_file(empty, path, progress=False)
    assert sorted(result.report.added) == ["c1", "c3"]
    assert [p.line for p in result.problems] == [3]
    assert empty.get("c1").authors == ["Ana Ruiz", "Tom Berg"]  # type: ignore[union-attr]


def test_reingesting_the_same_file_is_a_no_op(empty: PaperStore, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", PAPERS)
    first = ingest_file(empty, path, progress=False)
    assert len(first.report.added) == len(PAPERS)
    second = ingest_file(empty, path, progress=False)
    assert second.skipped_as_seen and empty.count() == len(PAPERS)
    # The same records in a different file merge into what is there: nothing doubles.
    copy = write_jsonl(tmp_path / "copy.jsonl", list(reversed(PAPERS)))
    third = ingest_file(empty, copy, progress=False)
    assert third.report.added == [] and len(third.report.unchanged) == len(PAPERS)
    assert empty.count() == len(PAPERS) and empty.index.size == len(PAPERS)


def test_duplicates_by_doi_and_title_are_merged_not_doubled(empty: PaperStore, tmp_path: Path) -> None:
    ingest_file(empty, write_jsonl(tmp_path / "a.jsonl", [
        {"id": "a1", "title": "Aerobic exercise as a treatment for depression", "abstract": "Exercise helped."},
        {"id": "a2", "title": "Coffee and the liver", "doi": "10.5/coffee", "abstract": "Coffee drinkers had less cirrhosis."},
    ]), progress=False)
    result = ingest_file(empty, write_jsonl(tmp_path / "b.jsonl", [
        {"id": "b1", "title": "Aerobic Exercise as a Treatment for Depression!", "year": 2017, "venue": "Psych"},
        {"id": "b2", "title": "Coffee consumption and cirrhosis", "doi": "https://doi.org/10.5/COFFEE", "year": 2015},
    ]), progress=False)
    assert sorted(result.report.merged) == ["a1", "a2"] and empty.count() == 2
    merged = empty.get("a1")
    assert merged is not None and (merged.year, merged.venue, merged.sentences) == (2017, "Psych", ["Exercise helped."])
    assert empty.get("b2").id == "a2"  # type: ignore[union-attr]  # the duplicate's id still finds the paper


def test_generic_titles_are_not_merged(empty: PaperStore, tmp_path: Path) -> None:
    ingest_file(empty, write_jsonl(tmp_path / "s.jsonl", [
        {"id": "s1", "title": "Summary", "abstract": "Steroid receptor RNA activator is a noncoding RNA."},
        {"id": "s2", "title": "Summary", "abstract": "Glomerular basement membrane proteins were measured."},
    ]), progress=False)
    assert empty.count() == 2


def test_missing_file_and_unknown_format_are_clear_errors(empty: PaperStore, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(empty, tmp_path / "nope.jsonl")
    odd = tmp_path / "papers.docx"
    odd.write_text("x")
    with pytest.raises(IngestError, match="unknown format"):
        ingest_file(empty, odd)


def test_prefetch_yields_in_order_and_reraises_the_producers_error() -> None:
    from knowledge.ingest.prefetch import ahead

    assert list(ahead(iter(range(50)), depth=3)) == list(range(50))

    def failing():
        yield 1
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in ahead(failing()):
            got.append(item)
    assert got == [1]
    early = ahead(iter(range(1_000)), depth=2)
    assert next(early) == 0
    early.close()  # stopping early stops the producer instead of leaving it blocked


def test_a_merge_into_a_paper_of_an_earlier_batch_leaves_one_copy_in_the_index(
    empty: PaperStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import knowledge.ingest as ingest

    monkeypatch.setattr(ingest, "_BATCH", 2)  # the duplicate lands two batches after the paper
    title = "Telomere shortening in stressed caregivers of sick children"
    path = write_jsonl(tmp_path / "d.jsonl", [
        {"id": "a", "title": title, "abstract": ["Telomeres shorten with stress."]},
        {"id": "b", "title": "Coffee and the liver", "abstract": ["Coffee drinkers had less cirrhosis."]},
        {"id": "c", "title": "Aerobic exercise as a treatment for depression", "abstract": ["Exercise helped."]},
        {"id": "a-copy", "title": title, "abstract": ["Telomeres shorten with stress."], "doi": "10.1/tel"},
    ])
    result = ingest_file(empty, path, progress=False)
    assert result.report.merged == ["a"] and empty.count() == 3
    assert empty.index.size == 3
    assert [pid for pid, _ in empty.index.search([WeightedTerm("telomeres")], 10)] == ["a"]


def test_a_reader_process_yields_in_order_and_reraises_its_error() -> None:
    from knowledge.ingest.prefetch import ProducerDied, from_process
    from tests import producers

    assert list(from_process(producers.numbers, 50)) == list(range(50))
    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in from_process(producers.failing_after, 3):
            got.append(item)
    assert got == [0, 1, 2]
    with pytest.raises(ProducerDied, match="exit code 3"):
        list(from_process(producers.dying_after, 2))


def test_a_consumer_that_stops_early_stops_the_reader_process() -> None:
    import os

    from knowledge.ingest.prefetch import ahead, from_process
    from tests import producers

    items = ahead(from_process(producers.endless_with_pid))
    pid = next(items)
    assert pid != os.getpid()
    items.close()
    with pytest.raises(ChildProcessError):  # reaped: the process is gone, not left running
        os.waitpid(pid, os.WNOHANG)


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read even tiny files in a separate process, as big ones are."""
    import knowledge.ingest as ingest

    monkeypatch.setattr(ingest, "PROCESS_MIN_BYTES", 0)


def test_a_file_read_in_a_separate_process_reports_bad_lines_and_lands_the_rest(
    empty: PaperStore, tmp_path: Path, in_process: None
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"id": "ok1", "title": "Good one", "abstract": "Fine. It worked."}) + "\n"
        + "{not json\n"
        + json.dumps({"id": "by", "title": "Bad year", "year": "soon"}) + "\n"
        + json.dumps({"id": "ok2", "title": "Good two", "abstract": ["Also fine."], "authors": "Ruiz, Ana"}) + "\n",
        encoding="utf-8",
    )
    seen = []
    result = ingest_file(empty, path, progress=False, added_by="U1", on_problem=seen.append)
    assert sorted(result.report.added) == ["ok1", "ok2"]
    assert [p.line for p in result.problems] == [2, 3] and seen == result.problems
    paper = empty.get("ok2")
    assert paper is not None and (paper.added_by, paper.authors) == ("U1", ["Ruiz, Ana"])
    assert empty.get("ok1").sentences == ["Fine.", "It worked."]  # type: ignore[union-attr]
    assert empty.index.size == empty.count() == 2
    assert [pid for pid, _ in empty.index.search([WeightedTerm("worked")], 5)] == ["ok1"]


def test_a_file_read_in_a_separate_process_merges_duplicates_as_usual(
    empty: PaperStore, tmp_path: Path, in_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import knowledge.ingest as ingest

    monkeypatch.setattr(ingest, "_BATCH", 2)
    ingest_file(empty, write_jsonl(tmp_path / "p.jsonl", PAPERS), progress=False)
    again = ingest_file(empty, write_jsonl(tmp_path / "copy.jsonl", list(reversed(PAPERS))), progress=False)
    assert again.report.added == [] and len(again.report.unchanged) == len(PAPERS)
    assert empty.count() == empty.index.size == len(PAPERS)

