"""Slack for many workspaces: "Add to Slack" through Bolt's OAuth flow against the loopback fake,
tokens kept encrypted in PostgreSQL, each workspace answered with its own token and papers,
and an uninstall removes the workspace's token."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest

from adapters.base import StartupError
from adapters.slack import build_slack_adapter
from bot.compose import build_citewise
from bot.core import Citewise
from bot.installations import new_secret_key
from bot.settings import Settings
from fakes import slack_payloads as p
from fakes.slack_api import FakeSlack
from knowledge.tenancy import team_scope
from tests.fakes.slack_http_client import SECRET, Client, serving
from tests.papers import make_papers

pytest.importorskip("psycopg")

TEAM_A, TEAM_B = "TALPHA", "TBRAVO"


def in_team(payload: dict, team: str) -> dict:
    """An event payload as workspace `team` would send it."""
    payload = copy.deepcopy(payload)
    payload["team_id"] = team
    payload["authorizations"][0]["team_id"] = team
    payload["event"]["team"] = team
    return payload


@pytest.fixture
def oauth_settings(postgres_url: str, slack: FakeSlack, tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "unused.db", database_url=postgres_url, index_dir=tmp_path / "index",
                    slack_client_id="111.222", slack_client_secret="client-secret", slack_signing_secret=SECRET,
                    secret_key=new_secret_key(), slack_api_url=slack.api_url,
                    slack_authorize_url=f"{slack.base}/oauth/v2/authorize", port=0)


@pytest.fixture
async def hosted(oauth_settings: Settings) -> AsyncIterator[Client]:
    core = build_citewise(oauth_settings)
    with team_scope(TEAM_A):
        core.store.add_papers(make_papers())
    async with serving(oauth_settings, core) as client:
        yield client
    core.close()


async def _install(client: Client, slack: FakeSlack, team: str) -> int:
    """What a workspace admin's browser does: the install link, Slack's consent page, the redirect back."""
    base = client.url.removesuffix("/slack/events")
    async with aiohttp.ClientSession() as browser:
        async with browser.get(f"{base}/slack/install", allow_redirects=False) as resp:
            assert resp.status == 302
            authorize = urlparse(resp.headers["Location"])
            assert authorize.path == "/oauth/v2/authorize"
            state = parse_qs(authorize.query)["state"][0]
            # Bolt's state cookie is Secure (the real app is served over HTTPS): sent back by hand here.
            cookie = resp.headers["Set-Cookie"].split(";")[0]
        code = f"code-{team}"
        slack.grant(code, team)
        async with browser.get(f"{base}/slack/oauth_redirect", params={"code": code, "state": state},
                               headers={"Cookie": cookie}) as resp:
            await resp.read()
            return resp.status


async def test_a_workspace_installs_through_oauth_and_is_answered_with_its_own_token(
    hosted: Client, slack: FakeSlack, postgres_url: str,
) -> None:
    assert await _install(hosted, slack, TEAM_A) == 200
    exchange = slack.calls_to("oauth.v2.access")[0]
    assert exchange.args.get("code") == f"code-{TEAM_A}"
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        sealed = conn.execute("SELECT sealed FROM installations").fetchone()[0]
    assert b"xoxb-" not in bytes(sealed)  # encrypted at rest

    assert await hosted.event(in_team(p.mention("does aspirin prevent stroke?"), TEAM_A)) == 200
    posted = (await slack.wait_for("chat.postMessage"))[0]
    assert posted.headers["Authorization"] == f"Bearer xoxb-{TEAM_A}"


async def test_a_state_is_used_once_and_a_forged_one_is_refused(hosted: Client, slack: FakeSlack) -> None:
    base = hosted.url.removesuffix("/slack/events")
    slack.grant("code-x", TEAM_B)
    async with aiohttp.ClientSession() as browser, \
            browser.get(f"{base}/slack/oauth_redirect", params={"code": "code-x", "state": "forged"}) as resp:
        assert resp.status >= 400
    assert slack.calls_to("oauth.v2.access") == []


def _installed(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM installations").fetchone()[0])


async def test_an_uninstalled_workspace_loses_its_token_and_is_not_answered(hosted: Client, slack: FakeSlack,
                                                                            postgres_url: str) -> None:
    assert await _install(hosted, slack, TEAM_B) == 200
    assert _installed(postgres_url) == 1
    uninstall = p.event({"type": "app_uninstalled"})
    assert await hosted.event(in_team(uninstall, TEAM_B)) == 200
    for _ in range(100):
        if _installed(postgres_url) == 0:
            break
        await asyncio.sleep(0.02)
    assert _installed(postgres_url) == 0
    assert await hosted.event(in_team(p.mention("does aspirin prevent stroke?"), TEAM_B)) == 200
    await asyncio.sleep(0.3)
    assert slack.calls_to("chat.postMessage") == []


async def test_many_workspaces_need_postgresql(slack: FakeSlack, tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "one.db", slack_client_id="1.2", slack_client_secret="s",
                        slack_signing_secret=SECRET, secret_key=new_secret_key(), slack_api_url=slack.api_url, port=0)
    core: Citewise = build_citewise(settings)
    with pytest.raises(StartupError, match="CITEWISE_DATABASE_URL"):
        build_slack_adapter(settings, core, host="127.0.0.1")
    core.close()


def _in_team_action(payload: dict, team: str) -> dict:
    payload["team"]["id"] = team
    payload["user"]["team_id"] = team
    return payload


async def test_show_sources_with_another_workspaces_answer_id_reveals_nothing(hosted: Client, slack: FakeSlack) -> None:
    from adapters.slack.render import SHOW_SOURCES
    from bot import messages

    assert await _install(hosted, slack, TEAM_A) == 200
    assert await _install(hosted, slack, TEAM_B) == 200
    assert await hosted.event(in_team(p.mention("does vitamin D prevent fractures?"), TEAM_A)) == 200
    update = (await slack.wait_for("chat.update", where=lambda c: "Show sources" in json.dumps(c.blocks)))[0]
    answer_id = next(e["value"] for b in update.blocks if b["type"] == "actions" for e in b["elements"]
                     if e["action_id"] == SHOW_SOURCES)
    press = p.block_action(SHOW_SOURCES, answer_id, channel="C0OTHER", message_ts="1.1", thread_ts=None,
                           response_url=slack.response_url())
    assert await hosted.action(_in_team_action(press, TEAM_B)) == 200
    reply = (await slack.wait_for("response_url"))[0]
    assert reply.args["text"] == messages.ANSWER_GONE
    assert [c for c in slack.calls_to("chat.update") if c.args.get("channel") == "C0OTHER"] == []
    # The same press in the answer's own workspace does show them (the button itself works).
    own = p.block_action(SHOW_SOURCES, answer_id, channel="C0OTHER", message_ts="1.1", thread_ts=None,
                         response_url=slack.response_url())
    assert await hosted.action(_in_team_action(own, TEAM_A)) == 200
    assert (await slack.wait_for("chat.update", where=lambda c: c.args.get("channel") == "C0OTHER"))
