"""Is this string storable text? Control characters out, undecodable bytes refused.

Files are decoded with `surrogateescape`, so a byte that is not UTF-8 survives as a
lone surrogate (U+DC80–U+DCFF) instead of silently becoming U+FFFD; JSON's `\\ud800`
escapes produce lone surrogates too. SQLite and JSON serialisation cannot encode
them, so they are refused here, once, with the offending byte named.
"""

from __future__ import annotations

import re

__all__ = ["undecodable", "without_controls", "clean_text", "replace_undecodable"]

# C0 controls except tab, newline, carriage return; DEL; lone surrogates.
_SUSPECT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def undecodable(text: str) -> str | None:
    """A description of the first character that is not valid text, or None when all are."""
    match = _SURROGATE.search(text)
    if match is None:
        return None
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte that was not UTF-8
        return f"not valid UTF-8 (byte 0x{code - 0xDC00:02x} at character {match.start() + 1})"
    return f"not valid text (lone surrogate U+{code:04X} at character {match.start() + 1})"


def without_controls(text: str) -> str:
    """NUL and other control characters removed (they only ever come from broken exports)."""
    return _CONTROLS.sub("", text)


def clean_text(text: str) -> str:
    """`text` without control characters; raises ValueError when it holds undecodable bytes."""
    if _SUSPECT.search(text) is None:  # the fast path: nearly every string
        return text
    problem = undecodable(text)
    if problem is not None:
        raise ValueError(problem)
    return without_controls(text)


def replace_undecodable(text: str) -> str:
    """Lone surrogates (undecodable bytes) as U+FFFD, so the text can always be encoded and shown."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)
