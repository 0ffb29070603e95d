"""A written answer streamed into Slack and Discord (the real clients against the loopback fakes),
and into the terminal: drafts while the model writes, then only the verified answer stays."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters import cli
from adapters.slack.render import SHOW_SOURCES
from adapters.streaming import DRAFT_NOTE
from bot.core import Citewise
from bot.pipeline.synthesize.llm import NOTE_PREFIX
from fakes import slack_payloads as p
from fakes.discord_api import FakeDiscord
from fakes.openai_api import FakeOpenAI, Script, reply_json
from fakes.slack_api import FakeSlack
from knowledge.store import PaperStore
from tests.llm_helpers import FAITHFUL, QUESTION, as_shown
from tests.test_discord_flow import ask_in_channel, bot  # noqa: F401 - the Discord fixture
from tests.test_slack_socket import adapter  # noqa: F401 - the Slack fixture

SLOW = Script(content=reply_json(FAITHFUL), chunk=8, delay=5.0)


@pytest.fixture
def core(core_llm: Citewise) -> Citewise:
    """The platform tests' adapters (reused below) answer through the writing core."""
    return core_llm


def _text(blocks: list[dict]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")


def _context(blocks: list[dict]) -> str:
    return "\n".join(e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])


def _buttons(blocks: list[dict]) -> set[str]:
    return {e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


async def _slack_answer(slack: FakeSlack) -> list[dict]:
    await slack.send_envelope("events_api", p.mention(QUESTION))
    await slack.wait_for("chat.update")
    for _ in range(500):  # the final update carries the buttons
        updates = slack.calls_to("chat.update")
        if updates and _buttons(updates[-1].blocks):
            return [u.args for u in updates]
        await asyncio.sleep(0.01)
    raise AssertionError("no final answer")


@pytest.mark.usefixtures("adapter")
async def test_slack_streams_drafts_then_the_verified_answer_with_buttons(slack: FakeSlack, llm: FakeOpenAI) -> None:
    llm.script(Script(content=reply_json([FAITHFUL[0], "Vitamin D supplementation halves fracture rates [7]."])))
    updates = await _slack_answer(slack)
    assert len({u["ts"] for u in updates}) == 1  # every edit is of the one placeholder
    drafts, final = updates[:-1], updates[-1]
    assert drafts and DRAFT_NOTE in _context(drafts[0]["blocks"]) and not _buttons(drafts[0]["blocks"])
    shown = _text(final["blocks"])
    assert as_shown(FAITHFUL[0]) in shown
    assert "halves" not in shown and "[7]" not in shown  # only verified text is final
    assert SHOW_SOURCES in _buttons(final["blocks"]) and DRAFT_NOTE not in _context(final["blocks"])
    assert all(len(b["text"]["text"]) <= 3000 for u in updates for b in u["blocks"] if b["type"] == "section")


@pytest.mark.usefixtures("adapter")
async def test_slack_a_slow_model_leaves_the_extractive_answer_and_a_note(slack: FakeSlack, llm: FakeOpenAI) -> None:
    llm.script(SLOW)
    final = (await _slack_answer(slack))[-1]
    assert "did not reduce the risk of hip or non-vertebral fractures" in _text(final["blocks"])
    assert f"{NOTE_PREFIX}it did not answer in time" in _context(final["blocks"])


@pytest.mark.usefixtures("bot")
async def test_discord_edits_the_deferred_reply_then_shows_the_verified_answer(fake: FakeDiscord, llm: FakeOpenAI
                                                                              ) -> None:
    flipped = "Vitamin D supplementation reduced the risk of hip or non-vertebral fractures compared with placebo [1]."
    llm.script(Script(content=reply_json([*FAITHFUL, flipped])))
    mark = len(fake.calls)
    interaction = await fake.slash("ask", question=QUESTION)
    edit = await fake.wait_for_call("PATCH", rf"/webhooks/\d+/{interaction['token']}/messages/@original",
                                            after=mark)
    assert DRAFT_NOTE in edit.json["content"]  # type: ignore[index]
    thread = await fake.wait_for_call("POST", rf"/channels/{fake.channel_id}/messages/\d+/threads",
                                              after=mark)
    message = fake.messages[int(thread.path.split("/")[4])]
    assert as_shown(*FAITHFUL) in message["content"] and DRAFT_NOTE not in message["content"]
    assert "compared with placebo" not in message["content"]  # the flipped sentence was dropped
    assert len(message["content"]) <= 2000 and message["components"]


@pytest.mark.usefixtures("bot")
async def test_discord_a_failing_model_leaves_the_extractive_answer_and_a_note(fake: FakeDiscord, llm: FakeOpenAI
                                                                              ) -> None:
    llm.script(Script(status=500))
    _, message, _ = await ask_in_channel(fake)
    assert "did not reduce the risk of hip or non-vertebral fractures" in message["content"]
    assert f"{NOTE_PREFIX}its server failed (HTTP 500)" in message["content"]


async def _serve_cli(llm: FakeOpenAI, argv: list[str]) -> int:
    return await asyncio.to_thread(cli.main, argv)


async def test_the_terminal_prints_the_draft_then_the_verified_answer(
    tmp_path: Path, store: PaperStore, db_path: Path, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CITEWISE_LLM_URL", llm.url)
    llm.script(Script(content=reply_json([FAITHFUL[0], "Vitamin D supplementation halves fracture rates [7]."])))
    code = await _serve_cli(llm, ["ask", "--db", str(db_path), QUESTION])
    out, err = capsys.readouterr()
    assert code == 0
    assert "writing… " in err and "halves fracture rates [7]" in err  # the draft, as it came
    assert as_shown(FAITHFUL[0]) in " ".join(out.split()) and "halves" not in out  # the verified answer


async def test_the_terminal_json_reports_what_truecite_removed(
    store: PaperStore, db_path: Path, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    monkeypatch.setenv("CITEWISE_LLM_URL", llm.url)
    wrong = ("Combined calcium and vitamin D supplementation reduced hip fractures by 40% in institutionalised "
             "elderly people [2].")
    llm.script(Script(content=reply_json([FAITHFUL[0], wrong])))
    assert await _serve_cli(llm, ["ask", "--json", "--db", str(db_path), QUESTION]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["written_by"] == "model" and "40%" not in data["answer"] and not err
    assert any(r["kind"] == "unsupported_number" for r in data["verification"]["removed"])


async def _assistant_question(slack: FakeSlack) -> str:
    started = p.assistant_thread_started(channel="D0ALICE")
    thread = started["event"]["assistant_thread"]["thread_ts"]
    await slack.send_envelope("events_api", started)
    await slack.send_envelope("events_api", p.message(QUESTION, channel="D0ALICE", channel_type="im",
                                                      thread_ts=thread))
    return thread


@pytest.mark.usefixtures("adapter")
async def test_the_assistant_pane_streams_with_slacks_streaming_api_then_shows_the_verified_answer(
    slack: FakeSlack, llm: FakeOpenAI
) -> None:
    llm.script(Script(content=reply_json([FAITHFUL[0], "Vitamin D supplementation halves fracture rates [7]."])))
    thread = await _assistant_question(slack)
    final = (await slack.wait_for("chat.update"))[0]
    start = slack.calls_to("chat.startStream")[0].args
    assert start["thread_ts"] == thread and start["recipient_user_id"] == "U0ALICE"
    assert "Vitamin D".startswith(start["markdown_text"][:9])  # the first words, as they came
    assert slack.calls_to("chat.stopStream")[0].args["ts"] == final.args["ts"]  # the streamed message, replaced
    shown = _text(final.blocks)
    assert as_shown(FAITHFUL[0]) in shown and "halves" not in shown and SHOW_SOURCES in _buttons(final.blocks)
    assert not slack.calls_to("chat.postMessage")  # the streamed message became the answer


@pytest.mark.usefixtures("adapter")
async def test_a_workspace_without_streaming_gets_the_verified_answer_posted(
    slack: FakeSlack, llm: FakeOpenAI
) -> None:
    slack.fail_next("chat.startStream", 200, error="method_not_supported_for_channel_type")
    llm.script(Script(content=reply_json(FAITHFUL)))
    await _assistant_question(slack)
    reply = (await slack.wait_for("chat.postMessage"))[0]
    assert as_shown(*FAITHFUL) in _text(reply.blocks) and not slack.calls_to("chat.appendStream")
