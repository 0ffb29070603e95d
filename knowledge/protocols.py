"""What the bot may ask of a paper store, whatever holds the papers.

`knowledge.store.SQLitePaperStore` is the implementation shipped; a PostgreSQL store
(or a test's own) satisfies the same `PaperStore` and is chosen in `bot.compose`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from knowledge.index import WeightedTerm
from knowledge.papers import Paper

if TYPE_CHECKING:
    from knowledge.store import AddReport

__all__ = ["PaperStore", "SearchIndex"]


class SearchIndex(Protocol):
    """The part of a search index the bot reads: how many papers it can find."""

    @property
    def size(self) -> int: ...


class PaperStore(Protocol):
    """The team's papers: add, look up, search. Knows nothing of conversations."""

    @property
    def index(self) -> SearchIndex: ...

    def add_papers(self, papers: Iterable[Paper], *, added_by: str | None = None) -> AddReport: ...

    def get(self, paper_id: str) -> Paper | None: ...

    def get_by_doi(self, doi: str) -> Paper | None: ...

    def get_many(self, paper_ids: list[str]) -> dict[str, Paper]: ...

    def count(self) -> int: ...

    def search(self, terms: list[WeightedTerm], k: int = 10, *, text: str | None = None) -> list[tuple[Paper, float]]:
        """The top-k papers for weighted query words, best first."""

    def rank(self, terms: list[WeightedTerm], k: int, *, text: str | None = None) -> list[tuple[str, float]]: ...

    def term_shares(self, stems: list[str]) -> tuple[dict[str, float], int]:
        """Share of the store's papers containing each stemmed term, and the paper count."""

    def stats(self) -> dict[str, object]:
        """What the store holds (papers only)."""

    def close(self) -> None: ...
