"""The claim keeper: this worker's heartbeat, and the questions of stopped workers finished here.

Runs beside the adapters in `citewise run`. Every `claim_timeout / 4` seconds it writes
the heartbeat that keeps this worker's claims its own, then takes over held questions
whose workers have been silent for `claim_timeout` (bot/claims.py) and hands each to the
adapter of its platform (a `Resumer`), in the question's team. A question that has
already cost `MAX_ATTEMPTS` workers their lives is not tried again: its asker gets an
apology instead of a worker that dies on it forever. One that fails here (the platform
refused, the network dropped) is released for a later round, attempts counted; past
`GIVE_UP_AFTER` it is logged and dropped. On stop the keeper retires, so what this worker
still holds passes to the others at once rather than after the timeout.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bot.claims import CLAIM_TIMEOUT, ClaimLedger
from bot.lanes import Lane
from bot.models import HeldClaim
from knowledge.tenancy import team_scope

__all__ = ["GIVE_UP_AFTER", "MAX_ATTEMPTS", "ClaimKeeper", "Resumer"]

logger = logging.getLogger(__name__)

# Workers a question may take with it before its asker is told it failed.
MAX_ATTEMPTS = 3
# Rounds after which a question that cannot even be apologised for is dropped (logged with its id).
GIVE_UP_AFTER = MAX_ATTEMPTS + 3
_PRUNE_EVERY = 480  # ticks between prunes: an hour at the default timeout


class Resumer(Protocol):
    """What an adapter offers to finish a question another worker held."""

    platform: str

    async def resume(self, claim: HeldClaim) -> None:
        """Show the claim's answer where it was asked (the recorded one, or a new one), then finish it."""

    async def give_up(self, claim: HeldClaim) -> None:
        """Tell the asker the question could not be answered, then finish it."""


class ClaimKeeper:
    """`await keeper.run()` until `stop()`; `tick()` is one round (what a test drives)."""

    def __init__(self, claims: ClaimLedger, resumers: list[Resumer], *, claim_timeout: float = CLAIM_TIMEOUT) -> None:
        self._claims = claims
        self._resumers = {r.platform: r for r in resumers}
        self.interval = claim_timeout / 4
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticks = 0
        # The keeper's own thread: a heartbeat must not queue behind answers in the shared
        # executor, or a busy live worker would look dead.
        self._lane = Lane("claim-keeper")

    async def run(self) -> None:
        while not self._stopping.is_set():
            await self.tick()
            try:
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            except TimeoutError:
                pass

    async def tick(self) -> list[HeldClaim]:
        """Heartbeat, then start finishing what stopped workers left; the claims taken over."""
        try:
            await self._lane.run(self._claims.heartbeat)
            taken = await self._lane.run(self._claims.take_abandoned, list(self._resumers)) if self._resumers else []
            self._ticks += 1
            if self._ticks % _PRUNE_EVERY == 1:
                pruned = await self._lane.run(self._claims.prune_claims)
                if pruned:
                    logger.info("forgot %d old claims and workers", pruned)
        except Exception:  # noqa: BLE001 - the database may be briefly away; the next tick tries again
            logger.exception("claim keeper round failed")
            return []
        for claim in taken:
            task = asyncio.get_running_loop().create_task(self._finish(claim), name=f"resume:{claim.key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return taken

    async def _finish(self, claim: HeldClaim) -> None:
        resumer = self._resumers[claim.platform]
        try:
            with team_scope(claim.team):
                if claim.attempts > GIVE_UP_AFTER:
                    logger.error("question=%s claim %s could not be answered nor apologised for in %d rounds;"
                                 " dropped", claim.question.id, claim.key, claim.attempts - 1)
                    await self._lane.run(self._claims.finish_claims, [claim.key])
                elif claim.attempts > MAX_ATTEMPTS:
                    logger.error("question=%s claim %s failed on %d workers; telling its asker", claim.question.id,
                                 claim.key, claim.attempts - 1)
                    await resumer.give_up(claim)
                else:
                    logger.warning("resuming question=%s (claim %s, attempt %d) left by a stopped worker",
                                   claim.question.id, claim.key, claim.attempts)
                    await resumer.resume(claim)
        except Exception:  # noqa: BLE001 - one question's failure must not stop the keeper
            logger.exception("resuming claim %s failed question=%s; a later round tries again", claim.key,
                             claim.question.id)
            try:
                with team_scope(claim.team):
                    await self._lane.run(self._claims.release_claim, claim.key)
            except Exception:  # noqa: BLE001 - the database is away too: the claim waits for this worker's restart
                logger.exception("could not release claim %s", claim.key)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let resumed answers in flight finish, cancelling what outlives `timeout`."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in late:
                task.cancel()

    async def stop(self) -> None:
        """Stop the rounds, let resumed answers finish, and retire this worker's heartbeat."""
        self._stopping.set()
        await self.drain()
        try:
            await self._lane.run(self._claims.retire)
        except Exception:  # noqa: BLE001 - shutting down: the heartbeat simply goes stale instead
            logger.exception("could not retire this worker's heartbeat")
        self._lane.close()
