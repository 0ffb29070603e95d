"""Growing the store from Discord: `/paper add|search` and files shared with a mention, end to end
through the fake Discord and the fake literature APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.render import CONTENT_LIMIT, render_paper_reply
from bot.compose import build_citewise
from bot.core import Citewise
from bot.literature import build_literature
from bot.messages import APOLOGY
from bot.models import PaperRef, PaperReply, RefProblem
from bot.papers import PaperService
from bot.settings import Settings
from bot.uploads import MAX_UPLOAD_BYTES
from fakes.discord_api import EPHEMERAL, FakeDiscord, RecordedCall
from fakes.literature_api import LiteratureAPI
from knowledge.index import WeightedTerm
from knowledge.ingest import IngestResult
from knowledge.store import PaperStore
from tests.discord_helpers import run_adapter, stop_adapter
from tests.literature_helpers import CROSSREF_DOI, fake_settings

BIB = b"""@article{osei2022,
  title = {Walking meetings and idea generation in small teams},
  author = {Osei, Kwame and Lind, Maja},
  journal = {Journal of Workplace Studies},
  year = {2022},
  abstract = {Teams of four that held their meetings while walking produced 40% more distinct ideas than seated teams. Meeting length did not change.}
}
"""
USER = f"discord:{FakeDiscord.user['id']}"


@pytest.fixture
async def bot(fake: FakeDiscord, literature_api: LiteratureAPI, db_path: Path,
              store: PaperStore) -> AsyncIterator[DiscordAdapter]:
    settings = fake_settings(literature_api, db_path, discord_token="fake-token", discord_api_url=fake.api_url,
                             discord_guild_id=fake.guild_id)
    async for adapter in _serve(fake, settings, build_citewise(settings, store=store)):
        yield adapter


async def _serve(fake: FakeDiscord, settings: Settings, core: Citewise,
                 papers: PaperService | None = None) -> AsyncIterator[DiscordAdapter]:
    adapter, task = await run_adapter(fake, settings, core, papers=papers)
    yield adapter
    await stop_adapter(adapter, task, fake)
    await core.aclose()
    assert all(p["allowed_mentions"]["parse"] == [] for p in fake.message_payloads()), "a reply could ping"


def _no_files(filename: str, data: bytes, added_by: str) -> IngestResult:
    raise AssertionError("this test shares no files")


class _BrokenSearch(PaperService):
    """A paper service whose store fails on search."""

    async def paper_search(self, query: str, k: int = 5) -> PaperReply:
        raise RuntimeError("store unavailable")


async def paper(fake: FakeDiscord, subcommand: str, **options: object) -> tuple[RecordedCall, RecordedCall]:
    """Run `/paper <subcommand>`; return the defer and the follow-up that replaced it."""
    mark = len(fake.calls)
    interaction = await fake.slash("paper", subcommand=subcommand, **options)  # type: ignore[arg-type]
    defer = await fake.wait_for_call("POST", rf"/interactions/{interaction['id']}/[^/]+/callback", after=mark)
    reply = await fake.wait_for_call("POST", rf"/webhooks/\d+/{interaction['token']}", after=mark)
    return defer, reply


async def mention(fake: FakeDiscord, text: str, *attachments: dict) -> dict:
    """Post a message mentioning the bot; return the bot's reply in the channel."""
    mark = len(fake.calls)
    await fake.post_message(f"<@{fake.bot_user_id}> {text}", mention_bot=True, attachments=list(attachments))
    call = await fake.wait_for_call("POST", rf"/channels/{fake.channel_id}/messages", after=mark)
    assert isinstance(call.json, dict)
    return call.json


def _added_by(store: PaperStore, *words: str) -> str | None:
    hits = store.search([WeightedTerm(w) for w in words], 1)
    paper = store.get(hits[0][0].id) if hits else None
    return paper.added_by if paper is not None else None


async def test_the_paper_group_is_synced(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    sync = await fake.wait_for_call("PUT", rf"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands")
    group = next(c for c in sync.json if c["name"] == "paper")  # type: ignore[union-attr]
    subs = {o["name"]: o for o in group["options"]}
    assert set(subs) == {"add", "search"} and all(o["type"] == 1 for o in subs.values())
    assert {(o["name"], o["type"], o.get("required", False)) for o in subs["add"]["options"]} == {
        ("refs", 3, False), ("file", 11, False)}
    assert [(o["name"], o["required"]) for o in subs["search"]["options"]] == [("query", True)]


async def test_paper_add_by_doi_tells_the_channel_and_records_who(fake: FakeDiscord, bot: DiscordAdapter,
                                                                  store: PaperStore) -> None:
    defer, reply = await paper(fake, "add", refs=f"https://doi.org/{CROSSREF_DOI}")
    assert defer.json["type"] == 5 and not defer.json.get("data", {}).get("flags", 0) & EPHEMERAL  # type: ignore[union-attr]
    content = reply.json["content"]  # type: ignore[index]
    assert "Added 1 paper" in content and "Bicycle commuting" in content
    assert reply.json["allowed_mentions"] == {"parse": []}  # type: ignore[index]
    added = store.get(f"doi:{CROSSREF_DOI}")
    assert added is not None and added.added_by == USER and added.origin == "crossref"

    _, again = await paper(fake, "add", refs=CROSSREF_DOI)
    assert "Already in the store" in again.json["content"] and USER in again.json["content"]  # type: ignore[index]


async def test_paper_search_answers_only_the_asker(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    defer, reply = await paper(fake, "search", query="aspirin stroke")
    assert defer.json["data"]["flags"] & EPHEMERAL  # type: ignore[index]
    assert reply.json["flags"] & EPHEMERAL  # type: ignore[index]
    assert "aspirin" in reply.json["content"].lower() and len(reply.json["content"]) <= CONTENT_LIMIT  # type: ignore[index]


async def test_a_source_that_is_down_is_a_clear_message_and_adds_nothing(
    fake: FakeDiscord, bot: DiscordAdapter, literature_api: LiteratureAPI, store: PaperStore
) -> None:
    literature_api.fail("crossref", *[500] * 5)
    literature_api.fail("openalex", *[500] * 5)
    before = store.count()
    _, reply = await paper(fake, "add", refs="10.5555/nowhere.1")
    content = reply.json["content"]  # type: ignore[index]
    assert "Could not add" in content and "10.5555/nowhere.1" in content and "Traceback" not in content
    assert store.count() == before


async def test_a_bib_file_shared_with_a_mention_lands_for_everyone(fake: FakeDiscord, bot: DiscordAdapter,
                                                                   store: PaperStore) -> None:
    bib = fake.attachment("refs.bib", BIB)
    reply = await mention(fake, "here are our refs", bib)
    assert "Added 1 paper" in reply["content"] and "Walking meetings" in reply["content"]
    assert reply["message_reference"]["message_id"] and reply["allowed_mentions"]["replied_user"] is False
    assert fake.downloads == [bib["id"]]
    assert _added_by(store, "walking", "meetings", "ideas") == USER


async def test_a_bib_file_on_the_slash_command_is_added(fake: FakeDiscord, bot: DiscordAdapter,
                                                        store: PaperStore) -> None:
    _, reply = await paper(fake, "add", files={"file": fake.attachment("refs.bib", BIB)})
    assert "Added 1 paper" in reply.json["content"]  # type: ignore[index]
    assert _added_by(store, "walking", "meetings", "ideas") == USER


async def test_a_paper_command_in_a_mention_adds_by_reference(fake: FakeDiscord, bot: DiscordAdapter,
                                                              store: PaperStore) -> None:
    reply = await mention(fake, f"paper add {CROSSREF_DOI}")
    assert "Added 1 paper" in reply["content"] and "Bicycle commuting" in reply["content"]
    assert store.get(f"doi:{CROSSREF_DOI}").added_by == USER  # type: ignore[union-attr]


async def test_files_that_are_not_papers_or_too_large_are_explained_and_never_fetched(
    fake: FakeDiscord, bot: DiscordAdapter, store: PaperStore
) -> None:
    before = store.count()
    photo = fake.attachment("photo.png", b"\x89PNG")
    huge = fake.attachment("thesis.pdf", b"%PDF-1.4", size=MAX_UPLOAD_BYTES + 1)
    reply = await mention(fake, "", photo, huge)
    assert "photo.png: not a paper file" in reply["content"] and "thesis.pdf: larger than" in reply["content"]
    assert fake.downloads == [] and store.count() == before


async def test_a_screenshot_with_a_question_is_answered_as_a_question(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    reply = await mention(fake, "does aspirin prevent stroke?", fake.attachment("chart.png", b"\x89PNG"))
    assert "not a paper file" not in reply["content"] and "cited" in reply["content"]
    assert fake.downloads == []


async def test_paper_add_without_options_explains_itself(fake: FakeDiscord, bot: DiscordAdapter) -> None:
    _, reply = await paper(fake, "add")
    assert "Give a DOI" in reply.json["content"]  # type: ignore[index]


async def test_a_failure_ends_in_an_ephemeral_apology(fake: FakeDiscord, literature_api: LiteratureAPI,
                                                      db_path: Path, store: PaperStore) -> None:
    settings = fake_settings(literature_api, db_path, discord_token="fake-token", discord_api_url=fake.api_url,
                             discord_guild_id=fake.guild_id)
    core = build_citewise(settings, store=store)
    broken = _BrokenSearch(settings, store, core.search, lambda: build_literature(settings), _no_files)
    async for _ in _serve(fake, settings, core, papers=broken):
        mark = len(fake.calls)
        interaction = await fake.slash("paper", subcommand="search", query="aspirin")
        apology = await fake.wait_for_call("POST", rf"/webhooks/\d+/{interaction['token']}", after=mark)
        content = apology.json["content"]  # type: ignore[index]
        assert content.startswith(APOLOGY) and "Reference: " in content  # the id in the log line
        assert apology.json["flags"] & EPHEMERAL  # type: ignore[index]
        assert "store unavailable" not in str(fake.message_payloads())


def test_long_replies_fit_and_count_what_was_left_out() -> None:
    reply = PaperReply(
        kind="added",
        added=[PaperRef(id=f"p{i}", title=f"Paper {i} on *sleep* and memory", year=2020, url=f"https://doi.org/10.1/{i}")
               for i in range(300)],
        existing=[PaperRef(id="old", title="Old paper", year=2001)],
        problems=[RefProblem(ref="10.1/bad", message="not found")],
    )
    shown = render_paper_reply(reply)
    assert len(shown) <= CONTENT_LIMIT
    assert "…and " in shown and " more" in shown and r"\*sleep\*" in shown
    assert "Old paper" in shown and "10.1/bad: not found" in shown  # every section keeps its share
    assert render_paper_reply(PaperReply(kind="added")) == "Nothing to add."
