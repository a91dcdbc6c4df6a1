"""The core: turns an Invocation into a Reply through the command registry."""

from __future__ import annotations

import logging
import math
import re

from bot.catalog.suggest import MAX_PREFIX_CHARS, Choice, Suggester
from bot.dispatch.context import Context, Services, is_moderator
from bot.dispatch.ratelimit import RateLimiter, Verdict
from bot.kernel.registry import GROUPS, MAX_INPUT_CHARS, UsageError, UserError
from bot.kernel.replies import error_reply, plural
from bot.kernel.types import ConversationRef, Invocation, Reply, UserRef
from bot.kernel.untrusted import clean_name, mend

log = logging.getLogger(__name__)

INTERNAL_ERROR = "Something went wrong on our side and has been logged. Please try again in a moment."
SLOW_DOWN = "Slow down a little, please"


def _outcome(reply: Reply) -> str:
    """How a command ended, for the metrics: ok, refused (bad input, no right, a busy server), limited (the
    spam limit) or failed (studybot's fault)."""
    if reply.silent or reply.text.startswith(f"⚠️ {SLOW_DOWN}"):
        return "limited"
    if not reply.error:
        return "ok"
    return "failed" if reply.internal else "refused"


# C0 control characters other than tab and newlines: PostgreSQL refuses NUL in text, and none of them
# belongs in a note, a reason or a name.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _cleaned(inv: Invocation) -> Invocation:
    """`inv` with the name and arguments fit to store and log: no lone surrogates, no markers, a bounded
    one-line name. Control characters in arguments are left for dispatch to refuse with a reason."""
    user = inv.user
    name = clean_name(user.name)
    # A lone surrogate cannot be stored (UTF-8 has none): every command of its sender would fail.
    args = tuple(mend(a) for a in inv.args)
    fields = tuple((mend(k), mend(v)) for k, v in inv.fields)
    if name == user.name and args == inv.args and fields == inv.fields:
        return inv
    cleaned = UserRef(user.platform, user.id, name, user.is_admin)
    return Invocation(inv.command, args, cleaned, inv.conversation, inv.typed, fields)


class Core(Services):
    """Everything platform-neutral: dispatch of an Invocation to its handler, and the services it has."""

    async def suggest(
        self, kind: str, prefix: str, conversation: ConversationRef | None = None
    ) -> list[Choice]:
        """Up to 25 autocomplete choices of a kind: stage, topic, resource, query (a search), kind, or cohort
        (given where)."""
        if len(prefix) > MAX_PREFIX_CHARS:  # before the cohort read below: autocomplete runs per keystroke
            return []
        if kind not in Suggester.KINDS:
            raise ValueError(
                f"unknown suggestion kind {kind!r}; expected one of {', '.join(Suggester.KINDS)}"
            )
        extra: list[Choice] = []
        if kind == "cohort" and conversation is not None:
            cohorts = await self.cohorts.list_cohorts(conversation.platform, conversation.workspace_id)
            extra = [Choice(c.name, c.name) for c in cohorts]
        return self._suggester.suggest(kind, prefix, extra)

    def invocation(self, text: str, user: UserRef, conversation: ConversationRef) -> Invocation:
        """Build an Invocation from typed text (console, Slack's one slash command)."""
        return self.registry.invocation(text, user, conversation)

    async def dispatch(self, inv: Invocation, *, limited: bool = True) -> Reply:
        """Run one command and return what to show; bad input changes nothing and says why.

        A member over the spam limit is told once to slow down; their further commands in that window do
        no work at all and come back as a `silent` Reply. `limited=False` is for what an adapter runs on
        its own account (Slack's App Home refresh), which a member did not send.
        """
        started = self.stopwatch()
        name = inv.command if inv.command in self.registry.commands else "unknown"  # labels stay few
        self.in_flight += 1
        try:
            reply = await self._dispatch(inv, limited)
        except BaseException:  # cancelled, or escaped the core: still a command that did not work
            self.telemetry.command(name, "failed", self.stopwatch() - started)
            raise
        finally:
            self.in_flight -= 1
        self.telemetry.command(name, _outcome(reply), self.stopwatch() - started)
        return reply

    async def _dispatch(self, inv: Invocation, limited: bool) -> Reply:
        if limited and self.limiter is not None:
            refused = self._over_limit(self.limiter, inv.user)
            if refused is not None:
                return refused
        inv = _cleaned(inv)
        parts = (*inv.args, *(k + v for k, v in inv.fields))
        if len(inv.command) + sum(len(a) + 1 for a in parts) > MAX_INPUT_CHARS:
            return error_reply(f"That is too long: commands are limited to {MAX_INPUT_CHARS:,} characters.")
        if any(_CONTROL.search(a) for a in parts):
            return error_reply(
                "That contains control characters (like a NUL byte) that studybot cannot store; "
                "please remove them. Nothing was changed."
            )
        spec = self.registry.get(inv.command)
        if spec is None:
            return self._unknown(inv.command)
        try:
            values = spec.parse(inv.args, typed=inv.typed, fields=inv.fields)
        except UsageError as exc:
            example = f" · Example: `{spec.example}`" if spec.example else ""
            return error_reply(f"{exc} Usage: `{spec.usage()}`{example}")
        except UserError as exc:
            return error_reply(str(exc))
        try:
            if spec.moderator and not await is_moderator(self.members, inv.user, inv.conversation):
                return error_reply(
                    f"`{spec.name}` is for moderators: server/workspace admins and members a moderator "
                    "granted (`/study cohort grant <member>`). Nothing was changed."
                )
            member = await self.members.upsert_member(inv.user.platform, inv.user.id, inv.user.name)
            context = Context(self, inv.user, inv.conversation, member)
            if not spec.heavy:
                return await spec.handler(context, values)
            workspace = (inv.conversation.platform, inv.conversation.workspace_id)
            async with self.heavy.slot(workspace) as admitted:
                if not admitted:
                    return error_reply(
                        f"This server is busy with {self.heavy.limit} searches, images or exports right now. "
                        "Please try again in a few seconds; nothing was changed."
                    )
                return await spec.handler(context, values)
        except UserError as exc:
            return error_reply(str(exc))
        except Exception:
            # A bug or an outage must not take the adapter down; the member gets an honest answer.
            log.exception("command %r failed for %s", inv.command, inv.user)
            return error_reply(INTERNAL_ERROR, internal=True)

    def _over_limit(self, limiter: RateLimiter, user: UserRef) -> Reply | None:
        """The answer to a command over the spam limit, or None when it may run. Touches no storage."""
        key, now = (user.platform, user.id), self.clock.now()
        verdict = limiter.check(key, now)
        if verdict is Verdict.ALLOW:
            return None
        if verdict is Verdict.DROP:
            return Reply(ephemeral=True, silent=True)
        seconds = max(1, math.ceil(limiter.wait(key, now).total_seconds()))
        window = round(limiter.window.total_seconds())
        return error_reply(
            f"{SLOW_DOWN}: that is more than {limiter.limit} commands in {window} seconds. "
            f"I did not run this one and will skip what you send in the next {plural(seconds, 'second')}; "
            "then carry on."
        )

    def _unknown(self, name: str) -> Reply:
        if name in GROUPS:
            subs = sorted(n.split(" ", 1)[1] for n in self.registry.commands if n.startswith(name + " "))
            return error_reply(f"`{name}` needs a sub-command: {', '.join(subs)}. Try `/study help {name}`.")
        close = self.registry.closest(name)
        hint = f" Did you mean {' or '.join(f'`{c}`' for c in close)}?" if close else ""
        return error_reply(f"Unknown command `{name}`.{hint} Type `/study help` for the list.")
