"""`citewise ingest --openalex/--arxiv/--doi/--arxiv-id` end to end against the fake literature APIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.cli import main
from fakes.literature_api import Fault, LiteratureAPI
from knowledge.store import PaperStore
from tests.literature_helpers import CROSSREF_DOI, FASTING_DOI


@pytest.fixture
def api(literature_api: LiteratureAPI, monkeypatch: pytest.MonkeyPatch) -> LiteratureAPI:
    """The fake APIs, configured the way a user would: through CITEWISE_* environment variables."""
    monkeypatch.delenv("CITEWISE_OFFLINE")
    env = {
        "CITEWISE_OPENALEX_URL": literature_api.urls["openalex_url"],
        "CITEWISE_ARXIV_URL": literature_api.urls["arxiv_url"],
        "CITEWISE_CROSSREF_URL": literature_api.urls["crossref_url"],
        "CITEWISE_CONTACT": "team@example.org",
        "CITEWISE_LITERATURE_RETRIES": "1",
        "CITEWISE_LITERATURE_BACKOFF": "0.01",
        "CITEWISE_LITERATURE_TIMEOUT": "0.5",
        "CITEWISE_ARXIV_MIN_INTERVAL": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return literature_api


def _count(db: Path) -> int:
    store = PaperStore(db)
    try:
        return store.count()
    finally:
        store.close()


def test_openalex_query_with_limit_and_since(api: LiteratureAPI, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--db", str(db), "ingest", "--openalex", "structural health monitoring", "--limit", "3", "--since", "2005",
                 "--as", "ana"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "literature: 3 added, 0 merged into existing, 0 already present" in out
    seen = api.requests("openalex")[0].query
    assert seen["filter"] == "from_publication_date:2005-01-01" and seen["per-page"] == "3"
    assert _count(db) == 15
    assert main(["--db", str(db), "search", "--json", "structural health monitoring", "-k", "1"]) == 0
    hit = json.loads(capsys.readouterr().out)["results"][0]
    assert hit["origin"] == "openalex" and hit["added_by"] == "ana" and hit["added_at"]
    assert main(["--db", str(db), "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["by_origin"]["openalex"] == 3 and stats["by_adder"]["ana"] == 3


def test_dois_and_arxiv_ids_and_arxiv_search(api: LiteratureAPI, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--db", str(db), "ingest", "--quiet", "--doi", CROSSREF_DOI, f"https://doi.org/{FASTING_DOI}",
                 "--arxiv-id", "1601.00001"])
    assert code == 0
    assert "literature: 3 added" in capsys.readouterr().out
    assert main(["--db", str(db), "ingest", "--quiet", "--arxiv", "molecular junctions"]) == 0
    assert "literature: 0 added, 0 merged into existing, 1 already present" in capsys.readouterr().out
    assert _count(db) == 15


def test_a_failing_source_leaves_the_store_untouched(api: LiteratureAPI, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api.fail("crossref", 500, 500)
    api.fail("openalex", 500, 500)
    code = main(["--db", str(db), "ingest", "--quiet", "--arxiv-id", "1601.00001", "--doi", "10.5555/broken"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err == "citewise: crossref: server error (HTTP 500); nothing was added"
    assert _count(db) == 12  # the arXiv paper that did arrive was not half-added


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ([Fault(status=429, headers={"Retry-After": "999"})], "openalex: rate limited for the next 999s (HTTP 429)"),
        ([Fault(delay=1.0), Fault(delay=1.0)], "openalex: no answer within 0.5s"),
        ([Fault(body="<html>oops</html>")], "openalex: answered with invalid JSON"),
    ],
)
def test_source_faults_are_one_clear_line(
    api: LiteratureAPI, db: Path, capsys: pytest.CaptureFixture[str], faults: list[Fault], message: str
) -> None:
    api.fail("openalex", *faults)
    assert main(["--db", str(db), "ingest", "--quiet", "--openalex", "fasting"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"citewise: {message}") and err.count("\n") == 1 and "Traceback" not in err
    assert _count(db) == 12


def test_bad_identifiers_and_offline_are_usage_errors(api: LiteratureAPI, db: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["--db", str(db), "ingest", "--doi", "1601.00001"]) == 2
    assert "is not a DOI" in capsys.readouterr().err
    assert main(["--db", str(db), "ingest"]) == 2
    assert "--openalex" in capsys.readouterr().err
    monkeypatch.setenv("CITEWISE_OFFLINE", "1")
    assert main(["--db", str(db), "ingest", "--openalex", "fasting"]) == 2
    assert "CITEWISE_OFFLINE" in capsys.readouterr().err
    assert api.seen == []
