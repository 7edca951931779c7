"""The checks on a Slack request before Bolt: signature, encoding, shape and intake keys."""

from __future__ import annotations

import time

import pytest

from integrations.slack import inbound
from integrations.slack.inbound import Refused
from tests.fakes.slack_signing import sign_slack_request

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"command=%2Fincident&text=help"


def refusal(call: object) -> tuple[int, str]:
    assert callable(call)
    with pytest.raises(Refused) as caught:
        call()
    return caught.value.status, caught.value.reason


def test_what_the_signing_helper_signs_is_accepted() -> None:
    now = time.time()
    inbound.verify_signature(sign_slack_request(SECRET, BODY), BODY, SECRET, now)


def test_a_changed_body_another_secret_or_a_stale_time_is_refused() -> None:
    now = time.time()
    headers = sign_slack_request(SECRET, BODY)
    assert refusal(lambda: inbound.verify_signature(headers, BODY + b"x", SECRET, now)) == (
        401,
        "bad X-Slack-Signature",
    )
    assert refusal(lambda: inbound.verify_signature(headers, BODY, "other", now))[0] == 401
    status, reason = refusal(lambda: inbound.verify_signature(headers, BODY, SECRET, now + 301))
    assert (status, "5 minutes" in reason) == (401, True)


def test_a_non_utf8_body_or_another_charset_is_refused() -> None:
    assert refusal(lambda: inbound.decode(b"\xff", None))[0] == 400
    assert refusal(lambda: inbound.decode(b"ok", "iso-8859-1"))[0] == 415
    assert inbound.decode("é".encode(), "UTF-8") == "é"


def test_intake_keys_name_what_a_replay_carries_again() -> None:
    assert inbound.intake_key({"command": "/incident", "trigger_id": "1.2.a"}) == (
        "slack:trigger:1.2.a"
    )
    view = {"type": "view_submission", "view": {"id": "V1", "hash": "h1"}}
    assert inbound.intake_key(view) == "slack:view:V1:h1"
    event = {"type": "event_callback", "event_id": "Ev1", "event": {"type": "x"}}
    assert inbound.intake_key(event) == "slack:event:Ev1"
    assert inbound.intake_key({"type": "event_callback", "event": {"type": "x"}}) is None
    press = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "actions": [{"action_id": "sitrep.ack", "action_ts": "1.5"}],
    }
    assert inbound.intake_key(press) == "slack:action:1.5:sitrep.ack:U1"


def test_a_very_long_id_becomes_a_digest_that_fits_the_key_column() -> None:
    key = inbound.intake_key({"command": "/incident", "trigger_id": "t" * 5000})
    assert key is not None and key.startswith("slack:sha256:") and len(key) < 100
    other = inbound.intake_key({"command": "/incident", "trigger_id": "t" * 4999 + "u"})
    assert other != key
