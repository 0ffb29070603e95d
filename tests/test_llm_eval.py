"""`citewise eval scifact --llm` against the loopback fake model: the usual figures plus citation recall/precision."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from adapters.cli import main
from fakes.openai_api import FakeOpenAI, Script, echo_reply
from tests.test_evaluation import tiny  # noqa: F401 - the hand-made corpus fixture


async def test_eval_with_the_model_reports_alce_citation_figures(
    tiny: tuple[Path, Path], tmp_path: Path, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus, claims = tiny
    monkeypatch.setenv("CITEWISE_LLM_URL", llm.url)
    # Each answer: the passages' first sentences, faithful, plus one sentence with a number no passage has.
    llm.default = Script(content=lambda messages: echo_reply(messages, sentences=1,
                                                             extra="It cut the risk by 93% [1]."))
    out = tmp_path / "eval.json"
    code = await asyncio.to_thread(main, ["eval", "scifact", "--corpus", str(corpus), "--claims", str(claims),
                                          "--split", "tuning", "--llm", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "citation recall 0.500" in printed and "statement precision" in printed
    data = json.loads(out.read_text())
    writing = data["writing"]
    assert writing["answers"] == len(llm.received) and writing["sentences"] == 2 * writing["answers"]
    assert writing["dropped"] == writing["answers"] and writing["citation_precision"] == pytest.approx(0.5)
    assert data["summaries"]["tuning"]["verified"] == 0.0  # TrueCite removed a sentence from every answer


def test_eval_llm_without_a_url_is_refused(tiny: tuple[Path, Path], capsys: pytest.CaptureFixture[str]  # noqa: F811
                                           ) -> None:
    corpus, claims = tiny
    assert main(["eval", "scifact", "--corpus", str(corpus), "--claims", str(claims), "--llm"]) == 2
    assert "CITEWISE_LLM_URL" in capsys.readouterr().err
