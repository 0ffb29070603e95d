"""Files a careless exporter or an attacker writes: each bad record is reported by file and line,
the rest of the file lands, nothing stored is changed by a record that only claims its id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.ingest import IngestError, ingest_file
from knowledge.limits import MAX_ABSTRACT_CHARS, MAX_RECORD_BYTES, MAX_TITLE_CHARS
from knowledge.store import PaperStore

GOOD = {"id": "g1", "title": "Vitamin D and fractures in older women", "abstract": "Vitamin D lowered fractures."}
LAST = {"id": "g2", "title": "Aspirin and stroke prevention", "abstract": "Aspirin lowered stroke risk."}


@pytest.fixture
def empty(db_path: Path) -> PaperStore:
    s = PaperStore(db_path)
    yield s
    s.close()


def _jsonl(path: Path, *middle: bytes) -> Path:
    path.write_bytes(b"".join([json.dumps(GOOD).encode() + b"\n", *(m + b"\n" for m in middle),
                               json.dumps(LAST).encode() + b"\n"]))
    return path


def _ingest(store: PaperStore, path: Path) -> tuple[list[str], list[tuple[int, str]]]:
    result = ingest_file(store, path, progress=False)
    return sorted(result.report.added), [(p.line, p.message) for p in result.problems]


def test_deeply_nested_json_skips_that_line_only(empty: PaperStore, tmp_path: Path) -> None:
    added, problems = _ingest(empty, _jsonl(tmp_path / "n.jsonl", b"[" * 100_000))
    assert added == ["g1", "g2"]
    assert problems == [(2, "JSON nested too deeply to be a paper record")]


def test_oversized_line_and_abstract_are_refused_with_the_limit(empty: PaperStore, tmp_path: Path) -> None:
    huge = json.dumps({"id": "h", "title": "Huge", "abstract": "x" * (MAX_RECORD_BYTES + 10)}).encode()
    long_abstract = json.dumps({"id": "a", "title": "Long", "abstract": "word " * (MAX_ABSTRACT_CHARS // 4)}).encode()
    long_title = json.dumps({"id": "t", "title": "T" * (MAX_TITLE_CHARS + 1)}).encode()
    long_sentence = json.dumps({"id": "s", "title": "Run-on", "abstract": ["y" * 6000]}).encode()
    added, problems = _ingest(empty, _jsonl(tmp_path / "big.jsonl", huge, long_abstract, long_title, long_sentence))
    assert added == ["g1", "g2"]
    assert [line for line, _ in problems] == [2, 3, 4, 5]
    assert "longer than 1,048,576 bytes" in problems[0][1]
    assert "abstract is 125,000 characters long; the limit is 100,000" in problems[1][1]
    assert "title is 1,001 characters long; the limit is 1,000" in problems[2][1]
    assert "sentence 1 is 6,000 characters long; the limit is 5,000" in problems[3][1]


def test_invalid_utf8_objects_and_nul_are_reported_not_stored_as_garbage(empty: PaperStore, tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "odd.jsonl",
        b'{"id": "u", "title": "Caf\xe9 society"}',
        b'{"id": {"nested": 1}, "title": "Object id"}',
        b'{"id": "o", "title": "Object author", "authors": {"first": "Ana"}}',
        b'{"id": "l", "title": "Lone surrogate \\ud800"}',
        b'{"id": "z", "title": "Null\\u0000 byte title"}',
    )
    added, problems = _ingest(empty, path)
    assert added == ["g1", "g2", "z"]
    assert problems == [
        (2, "title: not valid UTF-8 (byte 0xe9 at character 4)"),
        (3, "id must be text or a number, not an object"),
        (4, "authors must be text or a list of names, not an object"),
        (5, "title: not valid text (lone surrogate U+D800 at character 16)"),
    ]
    paper = empty.get("z")
    assert paper is not None and paper.title == "Null byte title"


def test_same_id_for_another_paper_is_refused_and_the_stored_one_kept(empty: PaperStore, tmp_path: Path) -> None:
    _ingest(empty, _jsonl(tmp_path / "first.jsonl"))
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "g1", "title": "Cats prefer boxes", "doi": "10.1/cats"}) + "\n")
    result = ingest_file(empty, other, progress=False)
    assert result.report.total == 0 and len(result.report.conflicts) == 1
    assert result.problems[0].line == 1 and "already names another paper" in result.problems[0].message
    stored = empty.get("g1")
    assert stored is not None and stored.doi is None and stored.title == GOOD["title"]
    # The same paper again with a DOI it lacked is still merged.
    same = tmp_path / "same.jsonl"
    same.write_text(json.dumps({**GOOD, "doi": "10.1/vitd"}) + "\n")
    assert ingest_file(empty, same, progress=False).report.merged == ["g1"]


def test_a_file_that_failed_to_parse_is_read_again_under_its_right_name(empty: PaperStore, tmp_path: Path) -> None:
    bib = "@article{k1, title={Sleep and memory consolidation in adults}, author={Smith, A and Jones, B}, year={2020}}\n"
    wrong = tmp_path / "refs.ris"
    wrong.write_text(bib)
    first = ingest_file(empty, wrong, progress=False)
    assert first.report.total == 0 and first.problems and not first.skipped_as_seen
    assert not ingest_file(empty, wrong, progress=False).skipped_as_seen  # problems: not remembered
    right = wrong.rename(tmp_path / "refs.bib")
    assert len(ingest_file(empty, right, progress=False).report.added) == 1
    assert ingest_file(empty, right, progress=False).skipped_as_seen  # clean now: idempotent


def test_file_over_its_format_limit_is_refused_before_reading(empty: PaperStore, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from knowledge import limits

    monkeypatch.setitem(limits.MAX_FILE_BYTES, "bibtex", 10)
    path = tmp_path / "refs.bib"
    path.write_text("@article{k, title={A}}\n")
    with pytest.raises(IngestError, match="the limit for bibtex files is 0 MB"):
        ingest_file(empty, path, progress=False)


def test_a_long_ingest_publishes_papers_as_batches_commit(empty: PaperStore, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import knowledge.ingest as ingest

    monkeypatch.setattr(ingest, "_BATCH", 2)
    monkeypatch.setattr(ingest, "_PUBLISH_EVERY", 2)
    records = [json.dumps({"id": f"p{i}", "title": f"Paper number {i} on sleep", "abstract": "Sleep."}) for i in range(4)]
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join([*records, "{broken", json.dumps(LAST)]) + "\n")
    searchable_when_reported: list[int] = []
    ingest_file(empty, path, progress=False, on_problem=lambda _: searchable_when_reported.append(empty.index.size))
    assert searchable_when_reported == [4]  # batches 1 and 2 were searchable while batch 3 was read
    assert empty.index.size == empty.count() == 5
