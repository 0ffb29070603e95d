"""The platform-neutral /paper grammar and store-growing service, end to end against the fake literature APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.commands import is_for_the_store, paper_command_in
from bot.compose import build_citewise, build_paper_service
from bot.models import UploadedFile
from bot.papers import PaperService
from fakes.literature_api import LiteratureAPI
from knowledge.store import PaperStore
from tests.fakes.pdf import make_pdf
from tests.literature_helpers import CROSSREF_DOI, fake_settings

BIB = b"""@article{larsen2017,
  title = {Bicycle commuting and cardiovascular fitness},
  author = {Larsen, Ingrid and Berg, Tomas},
  journal = {Journal of Active Travel},
  year = {2017},
  doi = {10.5555/crossref.only.1}
}
@article{new2020,
  title = {Standing desks and back pain in office workers},
  author = {Kim, Ada},
  year = {2020},
  abstract = {Standing desks reduced reported back pain by a third over six months.}
}
"""


@pytest.fixture
async def library(literature_api: LiteratureAPI, store: PaperStore, db_path: Path) -> AsyncIterator[PaperService]:
    core = build_citewise(fake_settings(literature_api, db_path), store=store)
    lib = build_paper_service(core)
    yield lib
    await lib.aclose()
    await core.aclose()


async def test_add_by_reference_reports_added_already_there_and_problems(literature_api: LiteratureAPI, library: PaperService) -> None:
    reply = await library.handle_paper_command(
        f"/paper add https://doi.org/{CROSSREF_DOI} <https://arxiv.org/abs/1601.00001v1> not-a-ref 10.1000/vitd.2019.1",
        "slack:U123",
    )
    assert reply.kind == "added" and reply.ok
    assert sorted(p.id for p in reply.added) == ["arxiv:1601.00001", f"doi:{CROSSREF_DOI}"]
    assert [p.id for p in reply.existing] == ["vitd-rct"]  # in the store already by its DOI: not fetched
    assert [p.ref for p in reply.problems] == ["not-a-ref"]
    assert "Added 2 papers" in reply.text and "Already in the store (1)" in reply.text and "Could not add (1)" in reply.text
    stored = library.store.get(f"doi:{CROSSREF_DOI}")
    assert stored is not None and stored.added_by == "slack:U123" and stored.added_at and stored.origin == "crossref"
    requests_before = len(literature_api.seen)
    again = await library.handle_paper_command(f"add doi:{CROSSREF_DOI}", "discord:42")
    assert [p.id for p in again.existing] == [f"doi:{CROSSREF_DOI}"] and not again.added
    assert "added by slack:U123 on " in again.text
    assert len(literature_api.seen) == requests_before  # known papers are never fetched again


async def test_a_source_failure_is_a_line_in_the_reply(literature_api: LiteratureAPI, library: PaperService) -> None:
    literature_api.fail("crossref", 500, 500, 500)
    literature_api.fail("openalex", 500, 500, 500)
    reply = await library.handle_paper_command("/paper add 10.5555/nothing.here", "u1")
    assert not reply.ok and not reply.added
    assert reply.problems[0].message == "crossref: server error (HTTP 500)"
    assert library.store.count() == 12


async def test_bare_identifier_means_add_and_unknown_verbs_get_usage(library: PaperService) -> None:
    reply = await library.handle_paper_command("arXiv:1601.00001", "u1")
    assert reply.kind == "added" and reply.added[0].id == "arxiv:1601.00001"
    unknown = await library.handle_paper_command("/paper frobnicate", "u1")
    assert unknown.kind == "error" and not unknown.ok and "/paper search QUERY" in unknown.text
    assert (await library.handle_paper_command("", "u1")).kind == "help"
    empty = await library.handle_paper_command("/paper add", "u1")
    assert empty.kind == "error" and "share a file" in empty.text


async def test_shared_bib_and_pdf_files_are_ingested_once(library: PaperService) -> None:
    reply = await library.handle_paper_command("/paper add", "slack:U9", files=[UploadedFile(filename="refs.bib", data=BIB)])
    assert [p.title for p in reply.added] == ["Bicycle commuting and cardiovascular fitness", "Standing desks and back pain in office workers"]
    assert library.store.get(reply.added[1].id).added_by == "slack:U9"  # type: ignore[union-attr]
    again = await library.add_file("refs.bib", BIB, "slack:U9")
    assert not again.added and "added before" in again.text
    pdf = make_pdf([["Standing desks and back pain in office workers", "Ada Kim", "Abstract",
                     "Standing desks reduced reported back pain by a third over six months."]])
    as_pdf = await library.add_file("desk.pdf", pdf, "slack:U9")
    assert not as_pdf.added and [p.title for p in as_pdf.existing] == ["Standing desks and back pain in office workers"]
    odd = await library.add_file("notes.docx", b"PK..", "slack:U9")
    assert not odd.ok and "unknown format" in odd.problems[0].message


async def test_paper_search_lists_matches_with_year_and_takeaway(library: PaperService) -> None:
    reply = await library.handle_paper_command("/paper search coffee cirrhosis", "u1")
    assert reply.kind == "search" and reply.hits[0].id == "coffee-liver"
    assert "Coffee consumption and liver cirrhosis (2015)" in reply.text and "44% lower risk" in reply.text
    none = await library.paper_search("quantum chromodynamics lattice")
    assert none.hits == [] and "No papers" in none.text


async def test_offline_refuses_lookups_but_still_takes_files(literature_api: LiteratureAPI, store: PaperStore, db_path: Path) -> None:
    core = build_citewise(fake_settings(literature_api, db_path, offline=True), store=store)
    library = build_paper_service(core)
    reply = await library.handle_paper_command(f"/paper add {CROSSREF_DOI}", "u1")
    assert not reply.ok and "offline" in reply.problems[0].message and literature_api.seen == []
    files = await library.add_file("refs.bib", BIB, "u1")
    assert len(files.added) == 2
    await library.aclose()


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("paper add 10.1000/xyz", "add 10.1000/xyz"),
        ("Papers search coffee and sleep", "search coffee and sleep"),
        ("paper", ""),
        ("paper help", "help"),
        ("paper 10.1000/xyz arXiv:1601.00001", "10.1000/xyz arXiv:1601.00001"),
        ("paper on sleep and memory?", None),
        ("papers about aspirin and stroke", None),
        ("which paper says aspirin prevents stroke?", None),
    ],
)
def test_a_mention_is_a_paper_command_only_with_its_verbs_or_identifiers(text: str, command: str | None) -> None:
    assert paper_command_in(text) == command


def test_files_in_a_mention_add_papers_unless_they_come_with_a_question() -> None:
    assert is_for_the_store(None, ["refs.bib"], "here are our refs")
    assert is_for_the_store(None, ["photo.png"], "")  # explained as not a paper file
    assert not is_for_the_store(None, ["chart.png"], "does aspirin prevent stroke?")
    assert is_for_the_store("add 10.1000/x", [], "paper add 10.1000/x")
    assert not is_for_the_store(None, [], "does aspirin prevent stroke?")
