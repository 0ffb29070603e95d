"""Shared set-up for the literature tests: a populated fake API and settings pointing at it."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from fakes.literature_api import LiteratureAPI, load_fixture_works, make_work

__all__ = ["populate", "fake_settings", "FASTING_DOI", "CROSSREF_DOI"]

FASTING_DOI = "10.5555/fasting.2021.3"
CROSSREF_DOI = "10.5555/crossref.only.1"


def populate(api: LiteratureAPI) -> LiteratureAPI:
    api.works = load_fixture_works() + [
        make_work(
            "W9000000001",
            "Intermittent fasting improves insulin sensitivity in adults with obesity",
            "Intermittent fasting is a popular diet. In a randomized trial of 150 adults with obesity, "
            "time-restricted eating for twelve weeks improved insulin sensitivity by 21% compared with usual diet. "
            "Body weight fell by 3 kg.",
            doi=FASTING_DOI,
            year=2021,
            authors=("Priya Natarajan", "Omar Haddad"),
            venue="Metabolism Today",
            pmid="33000001",
        ),
        make_work(
            "W9000000002",
            "Time-restricted eating and glucose control: a pilot study",
            "Time-restricted eating lowered fasting glucose in a pilot of 20 adults with prediabetes.",
            year=2018,
            venue=None,
        ),
    ]
    api.crossref[CROSSREF_DOI] = {
        "DOI": CROSSREF_DOI.upper(),
        "title": ["Bicycle commuting and cardiovascular fitness"],
        "author": [{"given": "Ingrid", "family": "Larsen"}, {"given": "Tomas", "family": "Berg"}],
        "container-title": ["Journal of Active Travel"],
        "issued": {"date-parts": [[2017, 5, 2]]},
        "abstract": "<jats:p>Commuting by bicycle raised VO2max by 8% over one year. "
        "Injury rates were low.</jats:p>",
        "type": "journal-article",
    }
    api.crossref[FASTING_DOI] = {
        "DOI": FASTING_DOI,
        "title": ["Intermittent fasting improves insulin sensitivity in adults with obesity"],
        "author": [{"given": "Priya", "family": "Natarajan"}],
        "container-title": ["Metabolism Today"],
        "issued": {"date-parts": [[2021]]},
    }
    return api


def fake_settings(api: LiteratureAPI, db_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "db_path": db_path,
        "offline": False,
        "contact_email": "team@example.org",
        "literature_timeout": 1.0,
        "literature_retries": 2,
        "literature_backoff": 0.01,
        "literature_min_interval": 0.0,
        "arxiv_min_interval": 0.0,
        "fallback_budget": 3.0,
        **api.urls,
    }
    values.update(overrides)
    return Settings(**values)
