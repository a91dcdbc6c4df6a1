"""A recording chat platform for core tests (like errbot's test backend and Bot Framework's TestAdapter)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.types import ConversationRef, Reply


@dataclass
class RecordingPlatform:
    name: str = "console"
    sent: list[tuple[ConversationRef, Reply]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    edits: list[tuple[str, Reply]] = field(default_factory=list)
    direct: list[tuple[str, Reply]] = field(default_factory=list)

    async def start(self) -> None:
        return None

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        self.sent.append((conversation, reply))
        self.keys.append(key)
        return f"msg-{len(self.sent)}"

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        self.edits.append((message_id, reply))

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        self.direct.append((user_id, reply))
        return f"dm-{len(self.direct)}"

    async def close(self) -> None:
        return None
