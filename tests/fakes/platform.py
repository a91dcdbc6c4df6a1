"""A recording chat platform for core tests (like errbot's test backend and Bot Framework's TestAdapter)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.kernel.ports import Undeliverable
from bot.kernel.types import Button, Card, ConversationRef, Reply
from bot.kernel.untrusted import plain


def shown(reply: Reply) -> Reply:
    """`reply` as a plain-text platform shows it: member and pack text as written, its markers gone.

    Core tests read replies through this, as a member reads them; tests of the marking itself read the
    core's Reply directly.
    """

    def card(c: Card) -> Card:
        fields = tuple(replace(f, name=plain(f.name), value=plain(f.value)) for f in c.fields)
        return replace(c, title=plain(c.title), body=plain(c.body), footer=plain(c.footer), fields=fields)

    def button(b: Button) -> Button:
        return replace(b, label=plain(b.label))

    return replace(
        reply,
        text=plain(reply.text),
        cards=tuple(card(c) for c in reply.cards),
        buttons=tuple(button(b) for b in reply.buttons),
    )


@dataclass
class RecordingPlatform:
    name: str = "console"
    sent: list[tuple[ConversationRef, Reply]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    edits: list[tuple[str, Reply]] = field(default_factory=list)
    direct: list[tuple[str, Reply]] = field(default_factory=list)
    groups: list[tuple[tuple[str, ...], Reply]] = field(default_factory=list)
    roles: list[tuple[str, str, str]] = field(default_factory=list)  # (workspace, user, role) given
    refused_roles: set[str] = field(default_factory=set)  # roles the platform refuses to give

    async def start(self) -> None:
        return None

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        self.sent.append((conversation, shown(reply)))
        self.keys.append(key)
        return f"msg-{len(self.sent)}"

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        self.edits.append((message_id, shown(reply)))

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        self.direct.append((user_id, shown(reply)))
        return f"dm-{len(self.direct)}"

    async def grant_role(self, workspace_id: str, user_id: str, role_id: str) -> bool:
        if role_id in self.refused_roles:
            raise Undeliverable("Missing Permissions: studybot needs Manage Roles")
        self.roles.append((workspace_id, user_id, role_id))
        return True

    async def send_group(
        self, conversation: ConversationRef, user_ids: Sequence[str], reply: Reply
    ) -> list[str]:
        self.groups.append((tuple(user_ids), shown(reply)))
        return [f"group-{len(self.groups)}"]

    async def close(self) -> None:
        return None
