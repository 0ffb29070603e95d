"""Growing the store from Slack: `/paper add|search` and files shared with the bot, end to end
through the fake Slack and the fake literature APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.slack.render import MAX_SECTION_CHARS
from bot.compose import build_citewise
from bot.settings import Settings
from fakes import slack_payloads as p
from fakes.literature_api import LiteratureAPI
from fakes.slack_api import Call, FakeSlack
from knowledge.index import WeightedTerm
from knowledge.store import PaperStore
from tests.fakes.slack_http_client import SECRET, Client, serving
from tests.literature_helpers import CROSSREF_DOI, fake_settings

BIB = b"""@article{kim2020,
  title = {Standing desks and back pain in office workers},
  author = {Kim, Ada and Osei, Kwame},
  journal = {Occupational Health},
  year = {2020},
  abstract = {In a randomised trial of 300 office workers, standing desks reduced reported back pain by a third over six months. Productivity did not change.}
}
"""


@pytest.fixture
def paper_settings(literature_api: LiteratureAPI, db_path: Path, slack: FakeSlack) -> Settings:
    return fake_settings(literature_api, db_path, slack_bot_token="xoxb-test", slack_app_token=None,
                         slack_signing_secret=SECRET, slack_api_url=slack.api_url, port=0)


@pytest.fixture
async def client(paper_settings: Settings, store: PaperStore) -> AsyncIterator[Client]:
    core = build_citewise(paper_settings, store=store)
    async with serving(paper_settings, core) as c:
        yield c
    await core.aclose()


def _text(call: Call) -> str:
    return "\n".join(b["text"]["text"] for b in call.blocks if b["type"] == "section")


def _with_file(text: str, *, name: str, url: str, size: int, thread_ts: str | None = None) -> dict:
    payload = p.mention(text, thread_ts=thread_ts)
    payload["event"]["files"] = [{"id": "F0BIB", "name": name, "title": name, "size": size, "filetype": "text",
                                  "url_private": url, "url_private_download": url}]
    return payload


async def test_paper_add_by_doi_tells_the_channel_and_records_who(client: Client, slack: FakeSlack,
                                                                   store: PaperStore) -> None:
    await client.command(p.slash_command(f"add https://doi.org/{CROSSREF_DOI}", response_url=slack.response_url(),
                                         command="/paper"))
    reply = (await slack.wait_for("response_url"))[0]
    assert reply.args["response_type"] == "in_channel"
    assert "Added 1 paper" in _text(reply) and "Bicycle commuting" in _text(reply)
    paper = store.get(f"doi:{CROSSREF_DOI}")
    assert paper is not None and paper.added_by == "slack:U0ALICE" and paper.origin == "crossref"

    await client.command(p.slash_command(f"add {CROSSREF_DOI}", response_url=slack.response_url(), user="U0BOB",
                                         command="/paper"))
    again = (await slack.wait_for("response_url", 2))[1]
    assert "Already in the store" in _text(again) and "slack:U0ALICE" in _text(again)
    assert again.args["response_type"] == "ephemeral"  # nothing new: only the asker hears about it


async def test_paper_search_answers_only_the_asker(client: Client, slack: FakeSlack) -> None:
    await client.command(p.slash_command("search aspirin stroke", response_url=slack.response_url(), command="/paper"))
    reply = (await slack.wait_for("response_url"))[0]
    assert reply.args["response_type"] == "ephemeral"
    assert "aspirin" in _text(reply).lower()
    assert all(len(b["text"]["text"]) <= MAX_SECTION_CHARS for b in reply.blocks if b["type"] == "section")


async def test_a_source_that_is_down_is_a_clear_message_and_adds_nothing(client: Client, slack: FakeSlack,
                                                                          literature_api: LiteratureAPI,
                                                                          store: PaperStore) -> None:
    literature_api.fail("crossref", *[500] * 5)
    literature_api.fail("openalex", *[500] * 5)
    before = store.count()
    await client.command(p.slash_command("add 10.5555/nowhere.1", response_url=slack.response_url(), command="/paper"))
    reply = (await slack.wait_for("response_url"))[0]
    assert "Could not add" in _text(reply) and "Traceback" not in _text(reply)
    assert store.count() == before


async def test_a_bib_file_shared_with_a_mention_lands_for_everyone(client: Client, slack: FakeSlack,
                                                                   store: PaperStore) -> None:
    url = slack.host_file("refs.bib", BIB)
    payload = _with_file("here are our refs", name="refs.bib", url=url, size=len(BIB))
    await client.event(payload)
    reply = (await slack.wait_for("chat.postMessage"))[0]
    assert reply.args["thread_ts"] == payload["event"]["ts"]
    assert "Added 1 paper" in _text(reply) and "Standing desks" in _text(reply)
    download = slack.calls_to("files.download")[0]
    assert download.headers["Authorization"] == "Bearer xoxb-test"
    added = store.search([WeightedTerm(w) for w in ("standing", "desks", "back", "pain")], 1)
    assert added and store.get(added[0][0].id).added_by == "slack:U0ALICE"  # type: ignore[union-attr]

    # the new paper answers the next question, in any thread
    await client.event(p.mention("do standing desks reduce back pain?"))
    answer = (await slack.wait_for("chat.update", where=lambda c: "[1]" in _text(c)))[0]
    assert "standing desks reduced reported back pain" in _text(answer).lower()


async def test_files_not_hosted_by_slack_never_get_the_token(client: Client, slack: FakeSlack) -> None:
    payload = _with_file("", name="refs.bib", url="http://203.0.113.9/steal.bib", size=10)
    await client.event(payload)
    reply = (await slack.wait_for("chat.postMessage"))[0]
    assert "not hosted by Slack" in _text(reply)
    assert slack.calls_to("files.download") == []


async def test_a_non_paper_file_is_explained(client: Client, slack: FakeSlack, store: PaperStore) -> None:
    before = store.count()
    url = slack.host_file("photo.png", b"\x89PNG")
    await client.event(_with_file("", name="photo.png", url=url, size=4))
    reply = (await slack.wait_for("chat.postMessage"))[0]
    assert "not a paper file" in _text(reply) and store.count() == before
