"""Which team the work in hand is for: one Slack workspace, one Discord guild, or the default team.

A hosted Citewise serves many teams from one database. The team is fixed where a request
enters (the adapter knows the workspace or guild of every event, command and button) and
read where data is touched (the PostgreSQL store and the bot's tables filter every query
by it), so nothing in between — router, pipeline, presenter — passes it along or can
forget it. A context variable does that: each asyncio task and each `asyncio.to_thread`
call carries a copy of the context it was started from. Work started outside any scope is
the default team `""`, which is what a single-team (SQLite) install is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["DEFAULT_TEAM", "current_team", "team_scope"]

DEFAULT_TEAM = ""

_team: ContextVar[str] = ContextVar("citewise_team", default=DEFAULT_TEAM)


def current_team() -> str:
    """The team the running request is for (`DEFAULT_TEAM` outside any `team_scope`)."""
    return _team.get()


@contextmanager
def team_scope(team: str | None) -> Iterator[str]:
    """Everything inside (and every task or thread started from inside) works for `team`."""
    token = _team.set(team or DEFAULT_TEAM)
    try:
        yield _team.get()
    finally:
        _team.reset(token)
