"""A chat platform that accepts everything and keeps nothing, for the benchmarks' child processes.

A module of its own with no imports beyond typing, so a child that times its start-up can use it without
pulling in bench.common (and what that imports) before it measures.
"""

from __future__ import annotations

from typing import Any


class NullPlatform:
    """A chat platform that accepts everything and keeps nothing."""

    name = "bench"

    async def start(self) -> None:
        return None

    async def send(self, conversation: Any, reply: Any, *, key: str | None = None) -> str:
        return "m"

    async def edit(self, conversation: Any, message_id: str, reply: Any) -> None:
        return None

    async def send_direct(self, user_id: str, reply: Any) -> str:
        return "dm"

    async def grant_role(self, workspace_id: Any, user_id: Any, role_id: Any) -> bool:
        return False  # no roles here: the milestone is announced, nothing more

    async def send_group(self, conversation: Any, user_ids: Any, reply: Any) -> list[str]:
        return ["group"]

    async def close(self) -> None:
        return None
