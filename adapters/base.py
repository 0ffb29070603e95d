"""What every chat adapter offers to `citewise run`."""

from __future__ import annotations

from typing import Protocol

from bot.recovery import Resumer

__all__ = ["ChatAdapter", "StartupError"]


class StartupError(Exception):
    """An adapter cannot serve as configured (e.g. Slack HTTP mode with an empty signing secret).

    `citewise run` reports it in one line and exits non-zero instead of serving insecurely.
    """


class ChatAdapter(Protocol):
    """A connection to one chat platform, started and stopped by `citewise run`."""

    name: str

    @property
    def resumer(self) -> Resumer | None:
        """What finishes this platform's questions that a stopped worker held, if it can."""

    async def start(self) -> None:
        """Connect and serve until `stop` is called (or the connection is lost for good)."""

    async def stop(self) -> None:
        """Disconnect cleanly; pending answers may finish or be dropped."""
