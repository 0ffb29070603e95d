"""Random bytes and mutated valid files through every ingester, as a chat upload would arrive.

Properties: no exception escapes except a clean `IngestError`; every paper that was in
the store before is still there, unchanged in what it said (a later record may only
fill in what it lacked); SQLite's `PRAGMA integrity_check` says ok; the index holds
exactly the stored papers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from knowledge.ingest import IngestError, ingest_bytes
from knowledge.papers import Paper
from knowledge.store import PaperStore
from tests.conftest import make_papers
from tests.fakes.pdf import make_pdf
from tests.fuzzing import ADVERSARIAL, fuzz

VALID: dict[str, bytes] = {
    "refs.jsonl": (
        b'{"doc_id": 1, "title": "Vitamin D and fractures", "abstract": ["Vitamin D lowered fractures."]}\n'
        b'{"id": "p2", "title": "Aspirin and stroke", "abstract": "Aspirin cut strokes. Bleeding rose.", '
        b'"authors": [{"name": "Ruiz, Ana"}], "year": 2019, "doi": "10.1/abc"}\n'
    ),
    "refs.bib": (
        b"@article{k1, title={Sleep and {memory} consolidation}, author={Smith, A and Jones, B},\n"
        b"  year={2020}, journal={J. Sleep}, doi={10.1/sleep}, abstract={Sleep helps memory.}}\n"
        b"@misc{k2, title={An arXiv preprint}, eprint={1601.00001}, archiveprefix={arXiv}}\n"
    ),
    "refs.ris": (
        b"TY  - JOUR\nTI  - Salt and blood pressure\nAU  - Lee, K\nPY  - 2013\nAB  - Less salt lowered\n"
        b"  blood pressure.\nDO  - 10.1/salt\nER  - \nTY  - JOUR\nTI  - Stress and telomeres\nER  - \n"
    ),
    "refs.csv": (
        b'id,title,abstract,authors,year,doi\nc1,"Coffee and sleep","Coffee, late, delays sleep.",'
        b'"A; B",2021,10.1/coffee\nc2,Tea,"Tea ""works"".",,,\n'
    ),
    "paper.pdf": make_pdf([["Caffeine and attention", "Ana Ruiz", "Abstract", "Caffeine improved attention in "
                            "tired adults.", "1 Introduction", "We tested caffeine in forty adults."]]),
}
_TOKENS = [t.encode("utf-8", "surrogatepass") for t in ADVERSARIAL] + [
    b"\xff", b"\xfe\xff", b"\xc3", b"{", b"}", b"[" * 3000, b'"', b",", b"\n", b"\r\n", b"TY  - ", b"ER  - ",
    b"@article{", b"%PDF-1.4", b"obj", b"endobj", b"stream", b"\x00" * 8,
]


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaperStore]:
    store = PaperStore(tmp_path_factory.mktemp("fuzz-ingest") / "store.db")
    store.add_papers(make_papers())
    yield store
    store.close()


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """A valid file with a few bytes flipped, spliced, dropped, duplicated or replaced by hostile tokens."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        how = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate"]))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "insert":
            data[at:at] = draw(st.sampled_from(_TOKENS) | st.binary(max_size=16))
        elif how == "delete":
            del data[at : at + draw(st.integers(1, 32))]
        elif how == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
        else:
            del data[at:]
    return bytes(data)


def _snapshot(store: PaperStore) -> dict[str, Paper]:
    return store.get_many([row[0] for row in store.db.connect().execute("SELECT id FROM papers")])


def _ingest_and_check(store: PaperStore, name: str, data: bytes) -> None:
    before = _snapshot(store)
    try:
        result = ingest_bytes(store, name, data, on_problem=lambda _: None)
        event("records stored" if result.report.total else "no record stored")
        if result.problems:
            event("problems reported")
    except IngestError:
        event("file refused (IngestError)")  # a whole file refused in one line is a fine outcome
    after = _snapshot(store)
    for paper_id, old in before.items():
        new = after.get(paper_id)
        assert new is not None, f"{paper_id} was lost"
        assert (new.title, new.sentences) == (old.title, old.sentences) or not old.sentences
        for name_ in ("doi", "url", "venue", "year"):
            assert getattr(old, name_) in (None, getattr(new, name_)), f"{paper_id}.{name_} changed"
        assert not old.authors or new.authors == old.authors
    assert store.db.connect().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.index.size == store.count()


@pytest.mark.parametrize("name", sorted(VALID))
@fuzz(100)
@given(data=st.data())
def test_mutated_valid_files(fuzz_store: PaperStore, name: str, data: st.DataObject) -> None:
    _ingest_and_check(fuzz_store, name, data.draw(mutated(VALID[name]), label="file"))


@pytest.mark.parametrize("name", sorted(VALID))
@fuzz(60)
@given(data=st.binary(max_size=2_000) | st.lists(st.sampled_from(_TOKENS), max_size=40).map(b"".join))
def test_random_bytes(fuzz_store: PaperStore, name: str, data: bytes) -> None:
    _ingest_and_check(fuzz_store, name, data)


_names = st.builds(lambda stem, suffix: stem + suffix, st.text(max_size=300) | st.sampled_from(["..", "../../etc/passwd", "a\\b", "\udcff", "\x00"]),
                   st.sampled_from([".jsonl", ".bib", ".ris", ".csv", ".pdf", ".BIB", ".txt", ""]))


@fuzz(100)
@given(name=_names)
def test_any_upload_name_is_ingested_or_refused_in_one_line(fuzz_store: PaperStore, name: str) -> None:
    try:
        result = ingest_bytes(fuzz_store, name, VALID["refs.bib"], on_problem=lambda _: None)
    except IngestError as exc:
        assert "citewise-upload" not in str(exc) and ("unknown format" in str(exc) or name.lower().endswith(".pdf"))
        return
    result.path.encode("utf-8")
    assert "/" not in result.path and all(str(p).startswith(result.path) for p in result.problems)


def test_the_valid_files_do_ingest(store: PaperStore) -> None:
    """The mutations start from files that really work, so they reach deep into each reader."""
    for name, data in VALID.items():
        result = ingest_bytes(store, name, data)
        assert result.report.total >= 1 and not result.problems, (name, [str(p) for p in result.problems])
