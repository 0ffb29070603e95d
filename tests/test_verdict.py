"""Answers that answer: the bottom line, stances, on-topic statements and honest "not addressed".

Each test builds a tiny store of its own (written for these tests) so the rule it checks is
the only thing that decides the outcome.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.discord.render import render_answer as discord_answer
from adapters.discord.render import render_sources
from adapters.slack.render import render_answer as slack_answer
from adapters.terminal import render_answer as terminal_answer
from bot.compose import build_citewise
from bot.core import Citewise
from bot.models import Answer, AnswerStatus, Question, Stance, Verdict
from bot.pipeline.concepts import key_concepts
from bot.pipeline.stance import read_polarity
from bot.settings import Settings
from knowledge.papers import Paper
from knowledge.store import PaperStore

# Statins and dementia each have papers; none has both.
APART = [
    {"id": "statin-gall", "title": "Statin use and the risk of gallstone disease",
     "abstract": ["Statins lower cholesterol synthesis in the liver.",
                  "Long-term statin use was associated with a lower risk of gallstone disease requiring surgery."]},
    {"id": "statin-ldl", "title": "High-intensity statins and LDL cholesterol",
     "abstract": ["High-intensity statin therapy reduced LDL cholesterol by 50% in a randomized trial."]},
    {"id": "dementia-injury", "title": "Head injury and dementia in older adults",
     "abstract": ["Traumatic head injury was associated with an increased risk of dementia later in life."]},
    {"id": "dementia-glucose", "title": "Hypoglycaemia and dementia in type 2 diabetes",
     "abstract": ["Severe hypoglycaemic episodes were associated with a higher risk of dementia."]},
]

# Two papers find that the drug lowers blood pressure, one finds no effect.
MIXED = [
    {"id": "ramipril-a", "title": "Ramipril lowers blood pressure in older adults",
     "abstract": ["Ramipril reduced blood pressure by 12 mmHg in 600 older adults with hypertension.",
                  "Adverse events were rare."]},
    {"id": "ramipril-b", "title": "Ramipril and blood pressure in chronic kidney disease",
     "abstract": ["Ramipril reduced blood pressure by 9 mmHg in 400 patients with chronic kidney disease."]},
    {"id": "ramipril-c", "title": "A trial of ramipril for blood pressure in young adults",
     "abstract": ["Ramipril did not reduce blood pressure compared with placebo in young adults with mild hypertension."]},
    {"id": "other", "title": "Walking and mood", "abstract": ["Daily walking improved mood in office workers."]},
]

# A finding quoted with the paper's own numbered references inside it.
REFERENCED = [
    {"id": "zinc-colds", "title": "Zinc lozenges and the common cold",
     "abstract": ["Zinc lozenges shortened the duration of common colds by two days [3] (ref. 12).",
                  "Earlier trials disagreed [4, 5]."]},
    {"id": "noise", "title": "Urban noise and sleep", "abstract": ["Night-time traffic noise fragmented sleep."]},
]


def _core(tmp_path: Path, papers: list[dict]) -> Citewise:
    store = PaperStore(tmp_path / "store.db")
    store.add_papers([Paper.from_abstract(**p) for p in papers])
    return build_citewise(Settings(db_path=store.path), store=store)


@pytest.fixture
def apart(tmp_path: Path) -> Iterator[Citewise]:
    core = _core(tmp_path, APART)
    yield core
    core.close()


@pytest.fixture
def mixed(tmp_path: Path) -> Iterator[Citewise]:
    core = _core(tmp_path, MIXED)
    yield core
    core.close()


def _ask(core: Citewise, text: str, thread: str = "t") -> Answer:
    return core.answer_now(Question(text=text, conversation_id=thread))


def test_concepts_are_the_specific_parts_of_the_question(apart: Citewise) -> None:
    concepts = key_concepts("How do statins affect dementia risk?", apart.store.term_shares)
    assert [c.name for c in concepts.items] == ["statins", "dementia"]
    grouped = key_concepts("Does vitamin D supplementation reduce fractures?", apart.store.term_shares)
    assert [c.name for c in grouped.items] == ["vitamin supplementation", "fractures"]


def test_two_concepts_never_together_is_not_addressed_and_names_the_closest(apart: Citewise) -> None:
    answer = _ask(apart, "How do statins affect dementia risk?")
    assert answer.verdict is Verdict.not_addressed
    assert answer.sentences == [] and answer.sources == [], "nothing is presented as an answer"
    assert "statins" in answer.verdict_text and "dementia" in answer.verdict_text
    assert answer.verdict_text.startswith("Not addressed in the store")
    assert answer.closest and {s.id for s in answer.closest} <= {p["id"] for p in APART}
    shown = terminal_answer(answer)
    assert shown.startswith("Not addressed in the store") and "Closest papers" in shown
    assert "[1]" not in shown.split("Closest papers")[0], "no citation marker before the closest list"
    data = answer.to_public_dict()
    assert data["verdict"] == "not_addressed" and not re.search(r"\[\d+\]", data["answer"])


def test_a_follow_up_after_not_addressed_still_answers_honestly(apart: Citewise) -> None:
    first = _ask(apart, "How do statins affect dementia risk?", thread="f")
    assert first.verdict is Verdict.not_addressed
    follow = _ask(apart, "Does head injury increase the risk of dementia?", thread="f")
    assert follow.status is AnswerStatus.answered and follow.sentences
    assert {s.id for s in follow.sources} >= {"dementia-injury"}
    assert follow.verdict is Verdict.yes


def test_two_supporting_and_one_contradicting_paper_is_mixed(mixed: Citewise) -> None:
    answer = _ask(mixed, "Does ramipril reduce blood pressure?")
    stances = _direct_stances(answer)
    assert stances == {"ramipril-a": Stance.supports, "ramipril-b": Stance.supports, "ramipril-c": Stance.contradicts}
    assert answer.verdict is Verdict.mixed
    assert answer.verdict_counts.model_dump() == {"supports": 2, "contradicts": 1, "neutral": 0}
    assert answer.verdict_text == "Mixed evidence — 2 papers support, 1 contradicts"
    assert "other" not in {s.id for s in answer.sources}, "the off-topic paper is not cited"


def _direct_stances(answer: Answer) -> dict[str, Stance]:
    direct = {c.n for sentence in answer.sentences for c in sentence.citations}
    return {s.id: s.stance for s in answer.sources if s.n in direct}


def test_a_negated_statement_flips_the_stances(mixed: Citewise) -> None:
    asked = _direct_stances(_ask(mixed, "Does ramipril reduce blood pressure?", thread="p"))
    negated_answer = _ask(mixed, "Ramipril does not reduce blood pressure.", thread="n")
    negated = _direct_stances(negated_answer)
    both = asked.keys() & negated.keys()
    assert both, "the same papers answer both"
    flip = {Stance.supports: Stance.contradicts, Stance.contradicts: Stance.supports}
    assert all(negated[p] is flip[asked[p]] for p in both)
    if negated.get("ramipril-b") is Stance.contradicts and "ramipril-c" not in negated:
        assert negated_answer.verdict is Verdict.no


def test_the_papers_own_reference_numbers_never_look_like_our_markers(tmp_path: Path) -> None:
    core = _core(tmp_path, REFERENCED)
    try:
        answer = _ask(core, "Do zinc lozenges shorten common colds?")
    finally:
        core.close()
    assert answer.sentences, "the finding is answered"
    data = answer.to_public_dict()
    assert re.findall(r"\[(\d+)\]", data["answer"]) == ["1"], data["answer"]
    assert "ref. 12" not in data["answer"]
    for text in (terminal_answer(answer), json.dumps(slack_answer(answer, expanded=True)),
                 discord_answer(answer, show_sources=True).content, render_sources(answer).description or ""):
        numbers = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
        assert numbers <= {s.n for s in answer.sources}, text
        assert "[3]" not in text and "[4, 5]" not in text


def test_verdict_line_comes_first_and_stances_show_in_every_renderer(mixed: Citewise) -> None:
    answer = _ask(mixed, "Does ramipril reduce blood pressure?")
    assert terminal_answer(answer).startswith("Mixed evidence — 2 papers support, 1 contradicts")
    assert "Supports" in terminal_answer(answer) and "Contradicts" in terminal_answer(answer)
    blocks = slack_answer(answer, expanded=True)
    assert blocks[0]["text"]["text"].startswith("*Mixed evidence* — 2 papers support")
    expanded = json.dumps(blocks)
    assert "Supports" in expanded and "Contradicts" in expanded
    reply = discord_answer(answer, show_sources=True)
    assert reply.content.startswith("**Mixed evidence** — 2 papers support")
    assert "Contradicts" in (render_sources(answer).description or "")


def test_every_kept_statement_records_both_checks(mixed: Citewise) -> None:
    answer = _ask(mixed, "Does ramipril reduce blood pressure?")
    checks = answer.verification.statements
    assert checks and all(c.found and c.relevant for c in checks)
    assert len(checks) == len(answer.sentences)



# Findings that differ from the question in one word: an opposite, a weak null result, who lacks what.
OPPOSED = [
    {"id": "cbt-sleep", "title": "Cognitive behavioural therapy and insomnia in retired teachers",
     "abstract": ["In a randomized trial of 300 retired teachers, cognitive behavioural therapy significantly improved "
                  "insomnia compared with sleep hygiene advice."]},
    {"id": "glucose-meter", "title": "A pocket glucose meter in marathon runners",
     "abstract": ["In 120 marathon runners, the pocket glucose meter significantly underestimated blood glucose after "
                  "the race."]},
    {"id": "charcoal", "title": "Oral charcoal in weedkiller poisoning",
     "abstract": ["In a randomized trial of 80 patients with weedkiller poisoning, oral charcoal had little effect on "
                  "kidney injury (odds ratio 0.97)."]},
    {"id": "brakin", "title": "Brakin deficiency and liver fibrosis in mice",
     "abstract": ["In the absence of Brakin, liver fibrosis was significantly increased in 40 mice fed a choline-free "
                  "diet."]},
    {"id": "walking-mood", "title": "Walking and mood", "abstract": ["Daily walking improved mood in office workers."]},
]


@pytest.fixture
def opposed(tmp_path: Path) -> Iterator[Citewise]:
    core = _core(tmp_path, OPPOSED)
    yield core
    core.close()


@pytest.mark.parametrize(("question", "line", "paper"), [
    # the question takes one side of an opposite pair, the finding only the other
    ("Is cognitive behavioural therapy worse than sleep hygiene advice for insomnia?", "No — 1 paper contradicts",
     "cbt-sleep"),
    ("Is cognitive behavioural therapy better than sleep hygiene advice for insomnia?", "Yes — 1 paper supports",
     "cbt-sleep"),
    ("The pocket glucose meter overestimates blood glucose in marathon runners.", "No — 1 paper contradicts",
     "glucose-meter"),
    ("The pocket glucose meter underestimates blood glucose in marathon runners.", "Yes — 1 paper supports",
     "glucose-meter"),
    # "little effect" is a null result
    ("Does oral charcoal reduce kidney injury in weedkiller poisoning?", "No — 1 paper contradicts", "charcoal"),
    # "in the absence of Brakin" names what was studied; it does not deny the finding
    ("Does Brakin deficiency increase liver fibrosis?", "Yes — 1 paper supports", "brakin"),
])
def test_a_finding_that_says_the_opposite_reads_as_contradicting(opposed: Citewise, question: str, line: str,
                                                                   paper: str) -> None:
    answer = _ask(opposed, question, thread=question)
    assert [s.id for s in answer.sources if s.n in {c.n for x in answer.sentences for c in x.citations}] == [paper]
    assert answer.verdict_text == line
    assert terminal_answer(answer).startswith(line)


@pytest.mark.parametrize(("text", "direction"), [
    ("There is a positive correlation between coffee drinking and gout.", 1),
    ("Coffee drinking encourages gout.", 1),
    ("Coffee drinking represses gout.", -1),
    ("Coffee drinking impedes gout.", -1),
    ("Coffee drinking deactivates the gout pathway.", -1),
    ("There is a negative correlation between coffee drinking and gout.", -1),
])
def test_direction_words(text: str, direction: int) -> None:
    assert read_polarity(text, question=True).direction == direction


def test_incapable_of_is_a_negated_question_and_lack_of_names_the_subject() -> None:
    assert read_polarity("Bus drivers are incapable of digesting coffee.", question=True).negated
    assert not read_polarity("Lack of coffee causes gout.", question=True).negated
    assert read_polarity("Bus drivers lack the enzyme.", question=True).negated
    assert not read_polarity("In the absence of coffee, gout was more frequent.").negated
    assert read_polarity("There was an absence of any effect of coffee on gout.").negated
