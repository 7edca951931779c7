"""Button values and form metadata are parsed as ASCII digits only.

``str.isdigit`` accepts ``²`` (and other Unicode digits) that ``int`` refuses: a signed
request carrying one must be answered like any other unusable value, never crash a listener.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.runtime import Runtime
from handlers.slack import number_from_value
from integrations.slack import modals
from tests.fakes.slack_api import BOB
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    Client,
    Slack,
    block_action,
    declare_room,
    eventually_incident,
    fake,
    settings_overrides,
    settle,
    slack,
)
from tests.slack_flow.test_slack_replays import Captured, ephemeral_texts, interaction_body


@pytest.mark.parametrize("value", ["default:²", "default:١٢", "default:99999999999999999999"])
def test_number_from_value_refuses_non_ascii_and_out_of_range_numbers(value: str) -> None:
    assert number_from_value(value, "default") is None


def test_number_from_value_reads_a_workspace_and_number() -> None:
    assert number_from_value("default:7", "default") == 7
    assert number_from_value("other:7", "default") is None


async def test_a_signed_button_whose_value_is_a_superscript_digit_is_answered_without_error(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await slack.command("declare Disk full sev3")
    room = await declare_room(slack, runtime)
    press = Captured(
        client,
        interaction_body(
            block_action(slack.fake, "sitrep.ack", "default:²", user=BOB, channel=room)
        ),
    )
    with caplog.at_level(logging.ERROR):
        assert await press.send() == 200
        # An unusable value falls back to the channel's incident, as a missing one does.
        await eventually_incident(runtime, lambda i: i.acknowledged_at is not None)
        await settle(runtime)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [t for t in ephemeral_texts(slack.fake) if "went wrong" in t]


async def test_a_signed_update_form_whose_metadata_is_a_superscript_digit_changes_nothing(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await slack.command("declare Cache cold sev3")
    await declare_room(slack, runtime)
    values = {
        modals.UPDATE_BLOCK: {modals.UPDATE_ACTION: {"type": "plain_text_input", "value": "x"}}
    }
    submission = Captured(
        client,
        interaction_body(
            {
                "type": "view_submission",
                "user": {"id": BOB},
                "view": {
                    "id": "V9",
                    "type": "modal",
                    "callback_id": "sitrep.update",
                    "private_metadata": "default:²",
                    "state": {"values": values},
                },
            }
        ),
    )
    with caplog.at_level(logging.ERROR):
        assert await submission.send() == 200
        await asyncio.sleep(0.3)
        await settle(runtime)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    detail = await runtime.service.detail("default", 1)
    assert detail.updates == []
