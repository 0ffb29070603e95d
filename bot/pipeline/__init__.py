"""The answer pipeline, one stage a module, in the order a question meets them.

plan (the thread's context) → retrieve (candidate papers) → concepts (what the answer must be
about) → evidence (sentence scores) → statements (the direct answer) → synthesize (an `Answer`
with numbered citations) → verify (TrueCite: found in the paper and on the question) → verdict
(stances → the bottom line). `bot.core.Citewise` runs them; each stage can be tested alone.
"""
