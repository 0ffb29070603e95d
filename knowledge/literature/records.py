"""Building a Paper from a source record, with one readable error for every source."""

from __future__ import annotations

from pydantic import ValidationError

from knowledge.papers import Paper

__all__ = ["build_paper"]


def build_paper(label: str, *, abstract: str, **fields: object) -> Paper:
    """`Paper.from_abstract`, but a record that fails validation raises ValueError naming `label`."""
    try:
        return Paper.from_abstract(abstract=abstract, **fields)
    except ValidationError as exc:
        raise ValueError(f"{label}: {exc.errors()[0].get('msg')}") from None
