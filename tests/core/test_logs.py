"""Logs: one JSON object per line in production, readable in a terminal, never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.logs import ConsoleFormatter, JsonFormatter, configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.NOTSET)


def record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord({"name": "bot.test", "levelname": "INFO", "msg": msg})
    rec.__dict__.update(extra)
    return rec


def test_json_lines_carry_time_level_logger_message_and_extras() -> None:
    line = JsonFormatter().format(record("delivered", outbox_id=7, platform="slack"))
    data = json.loads(line)
    assert "\n" not in line
    assert data["level"] == "info" and data["logger"] == "bot.test"
    assert data["msg"] == "delivered" and data["outbox_id"] == 7 and data["platform"] == "slack"
    assert data["ts"].endswith("+00:00")


def test_fields_named_like_secrets_are_masked_in_both_formats() -> None:
    rec = record(
        "calling slack",
        bot_token="xoxb-1234",
        signing_secret="abc",
        authorization="Bearer t0k",
        user="U1",
    )
    for formatter in (JsonFormatter(), ConsoleFormatter()):
        out = formatter.format(rec)
        for secret in ("xoxb-1234", "abc", "Bearer t0k"):
            assert secret not in out
        assert "U1" in out


def test_secret_settings_render_masked_even_when_logged_whole() -> None:
    out = JsonFormatter().format(record("settings", api=SecretStr("s3cr3t-value")))
    assert "s3cr3t-value" not in out and "**********" in out


def test_exceptions_are_kept_on_one_json_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        rec = record("failed")
        rec.exc_info = sys.exc_info()
    line = JsonFormatter().format(rec)
    assert "\n" not in line and "RuntimeError: boom" in json.loads(line)["exc"]


def test_configure_logging_quiets_per_tick_scheduler_chatter(restore_logging: None) -> None:
    configure_logging("INFO", "json")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    logging.getLogger("apscheduler.executors.default").info("Running job tick")
    logging.getLogger("apscheduler.scheduler").warning("missed by 3 seconds")
    logging.getLogger("bot.test").info("hello")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["msg"] for line in lines] == ["missed by 3 seconds", "hello"]
