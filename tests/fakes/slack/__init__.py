"""A fake of Slack's Web API, response_url, HTTP-mode requests and Socket Mode for the real slack_sdk/bolt."""

from tests.fakes.slack.server import (
    BOT_USER_ID,
    CHANNEL_ID,
    DEFAULT_SIGNING_SECRET,
    TEAM_ID,
    USER_ID,
    ApiCall,
    FakeSlack,
    FakeUser,
    app_home_opened_event,
    block_actions_payload,
    event_callback_body,
    new_trigger_id,
    sign,
    slash_command_body,
    view_block_actions_payload,
    view_submission_payload,
)

__all__ = [
    "BOT_USER_ID",
    "CHANNEL_ID",
    "DEFAULT_SIGNING_SECRET",
    "TEAM_ID",
    "USER_ID",
    "ApiCall",
    "FakeSlack",
    "FakeUser",
    "app_home_opened_event",
    "block_actions_payload",
    "event_callback_body",
    "new_trigger_id",
    "sign",
    "slash_command_body",
    "view_block_actions_payload",
    "view_submission_payload",
]
