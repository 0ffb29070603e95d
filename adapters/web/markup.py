"""HTML that is escaped by default: the page shows other people's text (titles, questions).

Every string is escaped unless it is `Safe`, and only `tag` (or `safe` on a literal of
our own) makes `Safe`, so a paper titled `<img src=x onerror=…>` can only ever
render as text. Attribute values are escaped the same way, quotes included.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

__all__ = ["Safe", "escape", "safe", "tag", "join"]


class Safe(str):
    """Markup already escaped, or written by this package; `join` and `tag` keep it as is."""

_VOID = frozenset({"meta", "link", "input", "br", "img", "hr"})


def escape(value: object) -> Safe:
    if isinstance(value, Safe):
        return value
    return Safe(html.escape(str(value), quote=True))


def safe(literal: str) -> Safe:
    """Mark markup written in this package as safe; never call it on data."""
    return Safe(literal)


def join(children: Iterable[object], sep: str = "") -> Safe:
    return Safe(escape(sep).join(_flatten(children)))


def _flatten(children: Iterable[object]) -> Iterable[Safe]:
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, Iterable) and not isinstance(child, str):
            yield from _flatten(child)
        else:
            yield escape(child)


def _attribute(name: str, value: object) -> str:
    if value is True:
        return f" {name}"
    return f' {name}="{escape(value)}"'


def tag(element: str, /, *children: object, **attrs: object) -> Safe:
    """`<name attrs>children</name>`; `class_` means `class`, `data_n` means `data-n`; None/False drop an attribute."""
    rendered = "".join(
        _attribute(key.rstrip("_").replace("_", "-"), value)
        for key, value in attrs.items()
        if value is not None and value is not False
    )
    if element in _VOID:
        return Safe(f"<{element}{rendered}>")
    return Safe(f"<{element}{rendered}>{join(children)}</{element}>")
