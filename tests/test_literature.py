"""The literature clients against loopback fakes that answer in the real APIs' shapes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.literature import build_literature
from fakes.literature_api import FIXTURES, Fault, LiteratureAPI
from knowledge.literature import (
    BadIdentifier,
    Literature,
    MalformedResponse,
    NotFound,
    RateLimited,
    SourceTimeout,
    SourceUnavailable,
    parse_identifier,
    rebuild_abstract,
)
from tests.fakes.clock import FakeClock
from tests.literature_helpers import CROSSREF_DOI, FASTING_DOI, fake_settings


@pytest.fixture
async def lit(literature_api: LiteratureAPI, tmp_path: Path) -> AsyncIterator[Literature]:
    async with build_literature(fake_settings(literature_api, tmp_path / "s.db")) as literature:
        yield literature


def test_abstract_is_rebuilt_from_the_inverted_index() -> None:
    assert rebuild_abstract({"world": [1], "Hello": [0], "again": [2, 3]}) == "Hello world again again"
    assert rebuild_abstract(None) == "" and rebuild_abstract({"x": "oops"}) == ""


def test_abstract_of_a_recorded_openalex_work_is_rebuilt() -> None:
    works = json.loads((FIXTURES / "openalex_works_search.json").read_text())["results"]
    text = rebuild_abstract(works[0]["abstract_inverted_index"])
    assert text.startswith("The process of implementing a damage identification strategy")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.1063/1.4944470", "doi:10.1063/1.4944470"),
        ("https://doi.org/10.1063/1.4944470.", "doi:10.1063/1.4944470"),
        ("doi:10.1000/ABC", "doi:10.1000/abc"),
        ("arXiv:1601.00001v2", "arxiv:1601.00001"),
        ("https://arxiv.org/abs/1601.00001", "arxiv:1601.00001"),
        ("https://arxiv.org/pdf/1601.00001v1.pdf", "arxiv:1601.00001"),
        ("hep-th/9901001", "arxiv:hep-th/9901001"),
        ("<https://openalex.org/W2027456229|W2027456229>", "openalex:W2027456229"),
        ("w2027456229", "openalex:W2027456229"),
        ("pmid:17255041", "pmid:17255041"),
        ("https://pubmed.ncbi.nlm.nih.gov/17255041/", "pmid:17255041"),
    ],
)
def test_identifiers_are_recognised_in_every_form_people_paste(text: str, expected: str) -> None:
    assert str(parse_identifier(text)) == expected


@pytest.mark.parametrize("text", ["hello", "https://example.org/paper", "12.345/x", ""])
def test_unknown_references_raise_a_readable_error(text: str) -> None:
    with pytest.raises(BadIdentifier, match="not a DOI"):
        parse_identifier(text)


async def test_openalex_search_converts_works_and_identifies_us(literature_api: LiteratureAPI, lit: Literature) -> None:
    papers = await lit.search("structural health monitoring", limit=10)
    assert [p.id for p in papers][:2] == ["doi:10.1098/rsta.2006.1928", "doi:10.1002/9781118443118"]
    first = papers[0]
    assert first.origin == "openalex" and first.year == 2006 and first.authors == ["Charles R. Farrar", "Keith Worden"]
    assert first.venue and first.venue.startswith("Philosophical Transactions")
    assert first.sentences[0].startswith("The process of implementing")
    no_doi = next(p for p in papers if p.id == "openalex:W2610557234")
    assert no_doi.doi is None and no_doi.url and "researchgate" in no_doi.url  # its landing page
    seen = literature_api.requests("openalex")[0]
    assert seen.query["mailto"] == "team@example.org" and seen.query["cursor"] == "*"
    assert seen.headers["User-Agent"].startswith("Citewise/") and "mailto:team@example.org" in seen.headers["User-Agent"]


async def test_openalex_paging_follows_next_cursor_until_the_limit(literature_api: LiteratureAPI, lit: Literature) -> None:
    papers = await lit.openalex.search("structural health monitoring", limit=5, page_size=2)
    assert len(papers) == 5
    assert [s.query["cursor"] for s in literature_api.requests("openalex")] == ["*", "at:2", "at:4"]
    assert all(s.query["per-page"] == "2" for s in literature_api.requests("openalex"))


async def test_openalex_since_filters_by_publication_year(literature_api: LiteratureAPI, lit: Literature) -> None:
    papers = await lit.search("fasting eating", limit=10, since=2020)
    assert [p.doi for p in papers] == [FASTING_DOI]
    assert literature_api.requests("openalex")[0].query["filter"] == "from_publication_date:2020-01-01"


async def test_same_request_is_answered_from_the_cache(literature_api: LiteratureAPI, lit: Literature) -> None:
    await lit.search("fasting", limit=3)
    await lit.search("fasting", limit=3)
    assert len(literature_api.requests("openalex")) == 1


async def test_429_waits_for_retry_after_then_succeeds(literature_api: LiteratureAPI, tmp_path: Path) -> None:
    literature_api.fail("openalex", Fault(status=429, headers={"Retry-After": "0.2"}))
    clock = FakeClock()
    async with build_literature(fake_settings(literature_api, tmp_path / "s.db"), clock=clock) as literature:
        papers = await literature.search("fasting", limit=3)
    assert papers and len(literature_api.requests("openalex")) == 2
    assert clock.waited >= 0.2 and 0.2 in clock.slept  # Retry-After, not our own backoff


async def test_429_asking_for_a_long_wait_gives_up_at_once(literature_api: LiteratureAPI, lit: Literature) -> None:
    literature_api.fail("openalex", Fault(status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited, match="openalex: rate limited for the next 3600s"):
        await lit.search("fasting", limit=3)
    assert len(literature_api.requests("openalex")) == 1


async def test_500_is_retried_and_a_persistent_500_is_reported(literature_api: LiteratureAPI, lit: Literature) -> None:
    literature_api.fail("openalex", 500)
    assert await lit.search("fasting", limit=3)
    literature_api.fail("openalex", 502, 503, 500)
    with pytest.raises(SourceUnavailable, match=r"openalex: server error \(HTTP 500\)"):
        await lit.search("glucose", limit=3)
    assert len(literature_api.requests("openalex")) == 2 + 3


async def test_a_slow_source_times_out(literature_api: LiteratureAPI, tmp_path: Path) -> None:
    literature_api.fail("openalex", *[Fault(delay=1.0)] * 2)
    settings = fake_settings(literature_api, tmp_path / "s.db", literature_timeout=0.2, literature_retries=1)
    async with build_literature(settings) as literature:
        with pytest.raises(SourceTimeout, match="openalex: no answer within 0.2s"):
            await literature.search("fasting", limit=3)


async def test_connection_refused_is_unavailable(tmp_path: Path) -> None:
    with LiteratureAPI() as gone:
        urls = gone.urls
    settings = fake_settings(gone, tmp_path / "s.db", literature_retries=1, **urls)
    async with build_literature(settings) as literature:
        with pytest.raises(SourceUnavailable, match="cannot connect"):
            await literature.search("fasting", limit=3)


@pytest.mark.parametrize("body", ["{not json", '{"results": 5}', "[]"])
async def test_malformed_bodies_are_reported_not_crashed_on(literature_api: LiteratureAPI, lit: Literature, body: str) -> None:
    literature_api.fail("openalex", Fault(body=body))
    with pytest.raises(MalformedResponse, match="^openalex: "):
        await lit.search("fasting", limit=3)


async def test_arxiv_by_id_and_search_read_the_real_atom_feed(literature_api: LiteratureAPI, lit: Literature) -> None:
    paper = await lit.fetch(parse_identifier("https://arxiv.org/abs/1601.00001v1"))
    assert paper.id == "arxiv:1601.00001" and paper.origin == "arxiv"
    assert paper.doi == "10.1063/1.4944470" and paper.authors == ["Michael Kilgour", "Dvira Segal"]
    assert paper.title == "Inelastic effects in molecular transport junctions: The probe technique at high bias"
    assert paper.year == 2015 and paper.venue == "J. Chem. Phys. 144, 124107 (2016)"
    assert literature_api.requests("arxiv")[0].query["id_list"] == "1601.00001"
    found = await lit.search("molecular junctions", source="arxiv", limit=5)
    assert [p.id for p in found] == ["arxiv:1601.00001"]
    assert literature_api.requests("arxiv")[1].query["search_query"] == "all:molecular AND all:junctions"
    with pytest.raises(NotFound, match="arxiv: no such paper: 9912.99999"):
        await lit.fetch(parse_identifier("arXiv:9912.99999"))


async def test_arxiv_malformed_xml(literature_api: LiteratureAPI, lit: Literature) -> None:
    literature_api.fail("arxiv", Fault(body="<feed><oops"))
    with pytest.raises(MalformedResponse, match="arxiv: answered with invalid XML"):
        await lit.fetch(parse_identifier("1601.00001"))


async def test_crossref_by_doi_strips_jats_and_fills_missing_abstracts_from_openalex(literature_api: LiteratureAPI, lit: Literature) -> None:
    paper = await lit.fetch(parse_identifier(f"https://doi.org/{CROSSREF_DOI}"))
    assert paper.origin == "crossref" and paper.id == f"doi:{CROSSREF_DOI}"
    assert paper.authors == ["Ingrid Larsen", "Tomas Berg"] and paper.year == 2017
    assert paper.venue == "Journal of Active Travel"
    assert paper.sentences == ["Commuting by bicycle raised VO2max by 8% over one year.", "Injury rates were low."]
    assert not literature_api.requests("openalex")  # Crossref had an abstract: no second request
    fasting = await lit.fetch(parse_identifier(FASTING_DOI))
    assert fasting.origin == "crossref" and "improved insulin sensitivity by 21%" in fasting.abstract
    assert literature_api.requests("openalex")[0].path == f"/openalex/works/doi:{FASTING_DOI}"


async def test_unknown_doi_is_not_found_and_pmid_goes_to_openalex(literature_api: LiteratureAPI, lit: Literature) -> None:
    with pytest.raises(NotFound, match=r"crossref: no such work \(HTTP 404\)"):
        await lit.fetch(parse_identifier("10.9999/missing"))
    paper = await lit.fetch(parse_identifier("pmid:33000001"))
    assert paper.doi == FASTING_DOI and paper.origin == "openalex"


async def test_crossref_down_falls_back_to_openalex(literature_api: LiteratureAPI, lit: Literature) -> None:
    literature_api.fail("crossref", 500, 500, 500)
    paper = await lit.fetch(parse_identifier(FASTING_DOI))
    assert paper.origin == "openalex" and paper.sentences


async def test_requests_to_one_source_are_spaced_by_the_rate_limit(literature_api: LiteratureAPI, tmp_path: Path) -> None:
    settings = fake_settings(literature_api, tmp_path / "s.db", literature_min_interval=0.15)
    clock = FakeClock()
    async with build_literature(settings, clock=clock) as literature:
        await literature.search("fasting", limit=2)
        await literature.search("glucose", limit=2)
        await literature.search("monitoring", limit=2)
        assert round(clock.waited, 6) >= 0.3  # two waits of min_interval
    assert len(literature_api.requests("openalex")) == 3
