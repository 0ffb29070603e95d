"""Shared Hypothesis settings and adversarial text for the fuzz suites.

Deterministic (`derandomize`, no example database) so a run is reproducible and a
failure shows up the same way on every machine; bounded so the suites together
take seconds. `FUZZ_SCALE` multiplies every budget for a longer local hunt.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

__all__ = ["fuzz", "ADVERSARIAL", "adversarial_text", "PING"]

_SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples * _SCALE, derandomize=True, database=None, deadline=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )


# What a hostile or careless message (or paper) holds: pings, markup, controls, bidi, odd bytes.
ADVERSARIAL = [
    "<!channel>", "<!here>", "<!everyone>", "<!subteam^S0123|@team>", "@channel", "@here", "@everyone",
    "<@U0ALICE>", "<#C0RESEARCH|research>", "<https://evil.example|click>", "&amp;", "&lt;", "<", ">", "&",
    "*bold*", "_it_", "~x~", "`code`", "```", "> quote", "||spoiler||", "[1]", "[99]", "\\", "\u202e", "\u200b",
    "\u2060", "\x00", "\x1b[31m", "\ufffd", "\udcff", "\ud800", "🧪", "é", "日本", "\n", "\t", "?", "…",
    "vitamin", "D", "fractures", "aspirin", "stroke", "salt", "blood", "pressure", "telomeres", "stress",
    "does", "reduce", "what", "its", "limitations", "1", "2013", "0" * 30,
]
PING = ("<!channel>", "<!here>", "<!everyone>", "<!subteam")


def adversarial_text(max_parts: int = 30, *, long: bool = True) -> st.SearchStrategy[str]:
    """Free text, or words and tokens from ADVERSARIAL joined by spaces (which reaches the answering path);
    with `long`, also text around the 2,000-character question limit (slow to generate, so optional)."""
    tokens = st.lists(st.sampled_from(ADVERSARIAL) | st.text(max_size=12), max_size=max_parts).map(" ".join)
    kinds = [st.text(max_size=300), tokens]
    if long:
        kinds.append(st.text(min_size=1_990, max_size=2_010))
    return st.one_of(*kinds)
