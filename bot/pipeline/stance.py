"""Where a cited sentence stands on the question: supports, contradicts or neutral.

Model-free and explainable: the question (or statement) and the sentence each get a
polarity (does it assert an effect, or deny one: "no significant difference", "did not")
and a direction (up: increases, promotes; down: reduces, inhibits), and the side it takes of a
few opposite pairs (effective/ineffective, over-/underestimate, men/women). A finding that
agrees on all supports; one that flips any contradicts; a sentence that reports no finding
(background, aims, methods) is neutral. A statement-shaped question that is itself negated
("X does not cause Y") flips the reading, so the stance is always about what was asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import Stance
from knowledge.text import tokenize

__all__ = ["Reading", "read_polarity", "read_finding", "stance_of"]

_NULL_RESULT = re.compile(
    r"\b(?:no (?:statistically |clinically )?(?:significant|clear|consistent|detectable|measurable|appreciable|"
    r"major|overall|apparent|obvious|meaningful|independent|additional|further)?\s*"
    r"(?:difference|differences|effect|effects|association|associations|correlation|correlations|relationship|"
    r"link|change|changes|evidence|benefit|benefits|increase|decrease|reduction|improvement|impact|influence|"
    r"role|risk|advantage|protection|alteration|alterations)|"
    r"not (?:significantly|statistically|materially|substantially|markedly)|"
    r"(?:did|does|do|was|were|is|are|has|have|had|could|would|can) not|"
    r"(?:didn't|doesn't|don't|wasn't|weren't|isn't|aren't|hasn't|haven't|cannot|can't|couldn't)|"
    r"fail(?:s|ed)? to|neither|unaffected|unchanged|unrelated|"
    r"not (?:associated|related|correlated|linked|required|necessary|sufficient|involved|"
    r"affected|altered|changed|different|differ)|similar (?:in|between|among|across)|"
    # "lack of an effect" is a null result, "lack of the enzyme" / "in the absence of X" name what was
    # studied ("mice lacking X" too): the finding about them still holds.
    r"little (?:or no )?(?:effect|benefit|impact|influence|change|difference|evidence)|"
    r"(?:lack|absence) of (?:an? |any )?(?:significant |clear |consistent )?"
    r"(?:effect|association|difference|benefit|evidence|correlation|relationship|change|improvement|response)|"
    r"lack(?:s|ed)\b|nor)\b",
    re.I,
)
# "Lack of X leads to Y" asks about X's absence; "X lacks Y" denies Y.
_QUESTION_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|can't|doesn't|don't|didn't|isn't|aren't|wasn't|weren't|won't|lack(?:s|ed)?(?!\s+of)|"
    r"incapable of|fail(?:s|ed)? to|unable to|unaffected|unrelated|independent of|neither|nor)\b",
    re.I,
)
_UP = re.compile(
    r"\b(?:increas\w*|higher|elevat\w*|enhanc\w*|promot\w*|improv\w*|up-?regulat\w*|activat\w*|induc\w*|"
    r"encourag\w*|positive (?:correlation|association|relationship)|"
    r"stimulat\w*|greater|rais(?:e|es|ed|ing)|accelerat\w*|augment\w*|boost\w*|exacerbat\w*|worsen\w*|"
    r"rise|rises|rising|risen|facilitat\w*|potentiat\w*|amplif\w*|positively|more (?:likely|frequent|common|severe))\b",
    re.I,
)
_DOWN = re.compile(
    r"\b(?:decreas\w*|reduc\w*|lower\w*|inhibit\w*|suppress\w*|repress\w*|imped\w*|deactivat\w*|inactivat\w*|"
    r"negative (?:correlation|association|relationship)|impair\w*|down-?regulat\w*|attenuat\w*|"
    r"diminish\w*|fewer|declin\w*|prevent\w*|protect\w*|block\w*|abolish\w*|abrogat\w*|deplet\w*|"
    r"slow(?:s|ed|ing)?|shorter|negatively|inversely|less (?:likely|frequent|common|severe)|loss of|lost)\b",
    re.I,
)
# Aims, hypotheses and open questions take no side, whatever words they use.
_NOT_A_FINDING = re.compile(
    r"\b(?:we (?:aimed|sought|investigated|examined|hypothesi[sz]ed|asked|tested whether|set out)|"
    r"the (?:aim|purpose|objective|goal) of|this study (?:aimed|was designed|examines|investigates)|"
    r"to (?:investigate|determine|examine|assess|evaluate|explore|test)|little is known|remains? (?:unclear|unknown)|"
    r"is not (?:well )?understood|unclear whether|whether|has been (?:debated|proposed|suggested)|controversial)\b",
    re.I,
)
# Where one sentence holds two findings ("no association with A; X was associated with B"),
# only the clause about the question is read.
_CLAUSE_BREAK = re.compile(r";|,?\s+(?:whereas|while|but|yet|although|however|in contrast)\b,?|\.\s", re.I)
# Pairs of opposite words. A question that takes one side of a pair ("is ineffective",
# "overestimates", "scarce", "men are more susceptible") is contradicted by a finding that takes
# only the other ("improved", "underestimate", "markedly expanded", "women … at increased risk"):
# the up/down direction alone misses most of these.
_OPPOSITES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(rf"\b(?:{one})\b", re.I), re.compile(rf"\b(?:{other})\b", re.I)) for one, other in (
        (r"increas\w*|higher|more|greater|elevat\w*|rais(?:e|es|ed|ing)|ris(?:e|es|ing|en)|gain\w*|up-?regulat\w*",
         r"decreas\w*|lower\w*|less|fewer|reduc\w*|declin\w*|loss|lost|smaller|down-?regulat\w*"),
        (r"promot\w*|activat\w*|enhanc\w*|stimulat\w*|induc\w*|potentiat\w*|facilitat\w*|accelerat\w*|encourag\w*",
         r"inhibit\w*|suppress\w*|repress\w*|impair\w*|block\w*|prevent\w*|attenuat\w*|slow\w*|imped\w*|delay\w*|"
         r"deactivat\w*|inactivat\w*"),
        (r"effective\w*|efficac\w*|benefi\w*|improv\w*|better|superior|protect\w*|rescu\w*|amelior\w*",
         r"ineffective\w*|harm\w*|wors\w*|inferior|detriment\w*|exacerbat\w*|damag\w*"),
        (r"overestimat\w*", r"underestimat\w*"),
        (r"present|expand\w*|expansion|abundan\w*|common\w*", r"absent|scarce|rare\w*|deplet\w*|lack\w*"),
        (r"men|males?", r"women|females?"),
    )
)


@dataclass(frozen=True)
class Reading:
    """What a text asserts: an effect or none (`negated`), in which `direction` (+1 up, −1 down, 0 none)."""

    negated: bool
    direction: int
    finding: bool
    # (pair, side) of every opposite word in the text (`_OPPOSITES`)
    sides: frozenset[tuple[int, int]] = frozenset()


_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def _direction(text: str, outcome: frozenset[str] = frozenset()) -> int:
    """Up or down; when both occur ("greater intake … lower risk of diabetes"), the one nearest
    before the outcome's mention, since that is what the finding says of the outcome."""
    ups = [m.start() for m in _UP.finditer(text)]
    downs = [m.start() for m in _DOWN.finditer(text)]
    if ups and downs and outcome:
        mentions = [m.start() for m in _TOKEN.finditer(text) if tokenize(m.group(0)) and tokenize(m.group(0))[0] in outcome]
        if mentions:
            def gap(pos: int) -> int:
                after = [m - pos for m in mentions if m > pos]
                return min(after) if after else 10**6
            up, down = min(map(gap, ups)), min(map(gap, downs))
            if up != down:
                return 1 if up < down else -1
    return (len(ups) > len(downs)) - (len(downs) > len(ups))


def _sides(text: str) -> frozenset[tuple[int, int]]:
    return frozenset((p, side) for p, pair in enumerate(_OPPOSITES) for side, words in enumerate(pair)
                     if words.search(text))


def _opposed(question: Reading, sentence: Reading) -> bool:
    """The question takes one side of an opposite pair and the sentence only the other."""
    return any((p, 1 - side) in sentence.sides and (p, side) not in sentence.sides
               and (p, 1 - side) not in question.sides for p, side in question.sides)


def read_polarity(text: str, *, question: bool = False, outcome: frozenset[str] = frozenset()) -> Reading:
    """Read a question/statement (`question=True`) or an evidence sentence.

    `outcome`: stems of what the question asks about last ("… the risk of type 2 diabetes").
    """
    pattern = _QUESTION_NEGATION if question else _NULL_RESULT
    negated = bool(pattern.search(text))
    direction = _direction(text, outcome)
    # A sentence that restates what was asked, with no null result or aim in it, is read as a
    # finding: the evidence step only cites sentences that cover the question's concepts.
    finding = question or not _NOT_A_FINDING.search(text)
    return Reading(negated=negated, direction=direction, finding=finding, sides=_sides(text))


def stance_of(question: Reading, sentence: Reading) -> Stance:
    """The sentence's stance on the question, from their two readings."""
    if not sentence.finding:
        return Stance.neutral
    agree = question.negated == sentence.negated
    flipped = bool(question.direction and sentence.direction and question.direction != sentence.direction)
    if (flipped or _opposed(question, sentence)) and not sentence.negated and not question.negated:
        # "X reduces Y" against "X increased Y", "ineffective" against "improved": a flipped
        # direction or an opposite word disagrees; against a null result ("did not increase")
        # the negation already said so.
        agree = not agree
    return Stance.supports if agree else Stance.contradicts


def read_finding(sentence: str, terms: set[str], outcome: frozenset[str] = frozenset()) -> Reading:
    """Read the clause of `sentence` that says most about the question's (stemmed) `terms`."""
    clauses = [c for c in _CLAUSE_BREAK.split(sentence) if c and c.strip()]
    if len(clauses) > 1 and terms:
        best = max(clauses, key=lambda c: len(terms & set(tokenize(c))))
        if terms & set(tokenize(best)):
            return read_polarity(best, outcome=outcome)
    return read_polarity(sentence, outcome=outcome)
