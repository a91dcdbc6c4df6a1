"""A per-workspace bound on heavy work, so one server's searches, images and exports cannot starve others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# Heavy commands one workspace may run at once: two keeps a second member from waiting on the first,
# while a flood from one server leaves the event loop and the worker threads to everyone else.
HEAVY_PER_WORKSPACE = 2
# How long a heavy command waits for a free slot before the member is told to try again: well inside
# Discord's 3-second window for the first answer to an interaction.
WAIT_SECONDS = 2.0


class WorkspaceGate:
    """At most `limit` heavy commands at once per workspace; the rest wait briefly, then are refused."""

    def __init__(self, limit: int = HEAVY_PER_WORKSPACE, wait: float = WAIT_SECONDS) -> None:
        self.limit = limit
        self.wait = wait
        # Only workspaces with work running or waiting have an entry, so the map stays small.
        self._slots: dict[tuple[str, str], asyncio.Semaphore] = {}
        self._users: dict[tuple[str, str], int] = {}

    @asynccontextmanager
    async def slot(self, workspace: tuple[str, str]) -> AsyncIterator[bool]:
        """Hold one of the workspace's slots for the block; yields False when none came free in time."""
        slots = self._slots.setdefault(workspace, asyncio.Semaphore(self.limit))
        self._users[workspace] = self._users.get(workspace, 0) + 1
        admitted = False
        try:
            try:
                await asyncio.wait_for(slots.acquire(), self.wait)
                admitted = True
            except TimeoutError:
                pass
            try:
                yield admitted
            finally:
                if admitted:
                    slots.release()
        finally:
            self._users[workspace] -= 1
            if not self._users[workspace]:
                del self._users[workspace], self._slots[workspace]
