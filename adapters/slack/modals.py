"""studybot's forms as Slack modals: opened in answer to a member's click or /study, their submission
answered within Slack's 3 seconds, and a click inside a modal answered in that modal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.forms import error_block, error_text, form_view, reply_view
from adapters.slack.render import render
from bot.kernel.types import Reply

log = logging.getLogger(__name__)

# Slack wants a view_submission answered within 3 seconds. The core gets this long to answer in the modal;
# after that the modal is closed and the reply follows as a direct message.
SUBMIT_WAIT_SECONDS = 2.0


async def upload_direct(client: AsyncWebClient, user_id: str, files: list[tuple[str, bytes, str]]) -> None:
    """Upload files to the member's direct messages: a modal cannot show them, nor is a file ephemeral."""
    if not files:
        return
    channel = str((await client.conversations_open(users=user_id))["channel"]["id"])
    for filename, data, title in files:
        await client.files_upload_v2(channel=channel, content=data, filename=filename, title=title)


async def send_direct(client: AsyncWebClient, user_id: str, reply: Reply) -> None:
    """`reply` (its text and cards: a direct message cannot open its form) as a direct message."""
    message = render(reply)
    channel = str((await client.conversations_open(users=user_id))["channel"]["id"])
    await client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
    for filename, data, title in message.files:
        await client.files_upload_v2(channel=channel, content=data, filename=filename, title=title)


async def open_form(
    client: AsyncWebClient, trigger_id: str, reply: Reply, channel_id: str, user_id: str
) -> bool:
    """Open `reply`'s form as a modal; False when it has none or it cannot be opened (logged why): then its
    text and cards, which say the same in words, are to be sent instead."""
    if reply.form is None:
        return False
    try:
        view = form_view(reply.form, channel_id)
    except ValueError:
        log.exception("a form does not fit a Slack modal; sending its text instead")
        return False
    if not trigger_id:
        log.warning("no trigger_id to open a form with; sending its text instead")
        return False
    try:
        # The trigger expires 3 seconds after the click: Slack refuses it after that (expired_trigger_id).
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("views.open failed (%s); sending the form's text instead", exc.response.get("error"))
        return False
    await upload_direct(client, user_id, render(reply).files)
    return True


def _modal(reply: Reply, channel_id: str) -> dict[str, Any]:
    """What replaces a modal to answer in it: the Reply's form, else the Reply shown."""
    if reply.form is not None:
        try:
            return form_view(reply.form, channel_id)
        except ValueError:
            log.exception("a form does not fit a Slack modal; showing its text instead")
    return reply_view(reply, channel_id)


async def show_in_modal(
    client: AsyncWebClient, view: dict[str, Any], reply: Reply, channel_id: str, user_id: str
) -> None:
    """Answer a click inside a modal in that modal (a form replaces it; anything else is shown in it); when
    Slack refuses, as a direct message."""
    shown = _modal(reply, channel_id)
    try:
        await client.views_update(view_id=str(view.get("id", "")), view=shown)
    except SlackApiError as exc:
        log.warning("views.update failed (%s); sending the reply directly", exc.response.get("error"))
        await send_direct(client, user_id, reply)
        return
    await upload_direct(client, user_id, render(reply).files)


async def answer_submission(
    ack: AsyncAck,
    client: AsyncWebClient,
    view: dict[str, Any],
    user_id: str,
    work: Awaitable[Reply],
    *,
    wait: float | None = None,
) -> Reply:
    """Answer a view_submission with the Reply `work` gives, within Slack's deadline.

    An error is shown under the form's text field (the first field when it has none), so the member keeps
    what they typed; a form replaces the modal; any other Reply is shown in it. A core slower than
    SUBMIT_WAIT_SECONDS: the modal is closed and the Reply sent as a direct message.
    """
    task = asyncio.ensure_future(work)
    try:
        reply = await asyncio.wait_for(asyncio.shield(task), SUBMIT_WAIT_SECONDS if wait is None else wait)
    except TimeoutError:
        await ack()  # within Slack's 3 seconds: the modal closes; the reply follows directly
        reply = await task
        if not reply.silent:
            await send_direct(client, user_id, reply)
        return reply
    channel_id = str(view.get("private_metadata") or "")
    target = error_block(view)
    if reply.silent:  # dropped over the spam limit: a plain ack closes the modal
        await ack()
    elif reply.error and target is not None:
        await ack(response_action="errors", errors={target: error_text(reply.text)})
    else:
        await ack(response_action="update", view=_modal(reply, channel_id))
        await upload_direct(client, user_id, render(reply).files)
    return reply
