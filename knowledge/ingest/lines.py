"""Reading a text file line by line without trusting it: bounded lines, undecodable bytes kept visible.

A line longer than `MAX_RECORD_BYTES` is skipped without ever being held in memory
whole (a 200 MB abstract line once cost 2.9 GB), and bytes that are not UTF-8
become lone surrogates (`surrogateescape`) so the paper check refuses the record
naming the byte, instead of U+FFFD slipping into the store unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from knowledge.limits import MAX_RECORD_BYTES

__all__ = ["bounded_lines", "read_text", "TOO_LONG"]

_CHUNK = 1 << 20
TOO_LONG = f"line is longer than {MAX_RECORD_BYTES:,} bytes (the limit for one record)"


def bounded_lines(path: Path, *, max_bytes: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, str | None]]:
    """(line number, text with its newline) for every line; text is None for a line over `max_bytes`."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(max_bytes + 1):
            number += 1
            if len(raw) > max_bytes and not raw.endswith(b"\n"):
                while (rest := handle.readline(_CHUNK)) and not rest.endswith(b"\n"):
                    pass  # drop the rest of the overlong line, a chunk at a time
                yield number, None
                continue
            text = raw.decode("utf-8", "surrogateescape")
            if number == 1:
                text = text.removeprefix("\ufeff")  # a byte-order mark some exporters write
            yield number, text


def read_text(path: Path) -> str:
    """The whole file as text (for formats parsed whole), undecodable bytes kept as surrogates."""
    return path.read_bytes().decode("utf-8", "surrogateescape").removeprefix("\ufeff")
