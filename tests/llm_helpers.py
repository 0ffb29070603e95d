"""What the LLM tests share: the fake model's clock and server, a core that writes, the scripted sentences."""

from __future__ import annotations

from pathlib import Path

from bot.compose import build_citewise
from bot.core import Citewise
from bot.pipeline.synthesize.llm import LLMSynthesizer
from bot.pipeline.verify_written import split_markers
from bot.settings import Settings
from fakes.openai_api import FakeOpenAI
from knowledge.store import PaperStore
from tests.fakes.clock import FakeClock

QUESTION = "Does vitamin D supplementation reduce fractures in older adults?"
FAITHFUL = [
    "Vitamin D supplementation did not reduce hip or non-vertebral fractures in older adults [1].",
    "Combined calcium and vitamin D supplementation reduced hip fractures by 16% in institutionalised elderly "
    "people, but vitamin D alone showed no benefit [2].",
]
TAKEAWAYS = {1: "Daily vitamin D3 did not prevent fractures in older adults.",
             2: "Calcium with vitamin D reduced hip fractures by 16% in institutionalised elderly people."}


def as_shown(*written: str) -> str:
    """How written sentences read once verified: markers after the full stop ("… older adults. [1]")."""
    parts = []
    for sentence in written:
        text, markers = split_markers(sentence)
        parts.append(f"{text} " + "".join(f"[{n}]" for n in markers))
    return " ".join(parts)


def llm_settings(db_path: Path, llm: FakeOpenAI, **extra: object) -> Settings:
    return Settings(db_path=db_path, llm_url=llm.url, llm_model="fake-model", llm_api_key="sk-test",
                    llm_timeout=30.0, **extra)


def written_core(settings: Settings, store: PaperStore, clock: FakeClock) -> Citewise:
    return build_citewise(settings, store=store,
                          writer=LLMSynthesizer.from_settings(settings, clock=clock.monotonic, sleep=clock.sleep))
