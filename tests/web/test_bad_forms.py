"""Hostile input to the web UI: unreadable forms (on /login too, before any credentials) and
numbers no row can have are a 4xx page, store nothing and log no traceback; each was a 500."""

from __future__ import annotations

import logging

import pytest

from bot.runtime import Runtime
from tests.support.probe import app, leaves_nothing
from tests.web.support import Client, declare, logged_in

__all__ = ["app"]  # the fixture: no worker, so only the request under test writes rows
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=xyz"


def part(name: str, value: bytes, headers: bytes = b"") -> bytes:
    head = b'--xyz\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n'
    return head + headers + b"\r\n" + value + b"\r\n"


def unreadable(csrf: str) -> list[tuple[str, bytes, str]]:
    """(case, body, Content-Type) that aiohttp cannot turn into a form."""
    token = csrf.encode()
    return [
        ("bad-utf8", b"token=\xff\xfe&csrf=" + token, FORM),
        ("unknown-charset", b"token=abc&csrf=" + token, FORM + "; charset=foo-bar"),
        ("no-boundary", b"--xyz\r\n", "multipart/form-data"),
        ("missing-boundary", b"garbage", MULTIPART),
        ("over-long-boundary", b"garbage", "multipart/form-data; boundary=" + "a" * 100),
        (
            "part-bad-utf8",
            part("csrf", token) + part("token", b"\xff\xfe") + b"--xyz--\r\n",
            MULTIPART,
        ),
        (
            "part-unknown-charset",
            part("csrf", token)
            + part("token", b"abc", b"Content-Type: text/plain; charset=nope\r\n")
            + b"--xyz--\r\n",
            MULTIPART,
        ),
        (
            "truncated",
            part("csrf", token) + b'--xyz\r\nContent-Disposition: form-data; name="t"\r\n\r\nab',
            MULTIPART,
        ),
    ]


def app_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if not r.name.startswith("aiohttp.access")]


@pytest.mark.parametrize("case", [c[0] for c in unreadable("")])
async def test_unreadable_login_form_is_a_400_with_at_most_one_log_line(
    client: Client, runtime: Runtime, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    _, body, content_type = next(c for c in unreadable("") if c[0] == case)
    async with leaves_nothing(runtime, caplog):
        caplog.clear()
        caplog.set_level(logging.DEBUG)
        resp = await client.post(
            "/login", data=body, headers={"Content-Type": content_type}, allow_redirects=False
        )
        assert resp.status == 400, await resp.text()
        assert "could not be read" in await resp.text()
        assert "Set-Cookie" not in resp.headers
        lines = app_lines(caplog)
        assert len(lines) <= 1
        assert all(len(r.getMessage()) < 200 for r in lines)


@pytest.mark.parametrize("case", [c[0] for c in unreadable("")])
async def test_unreadable_form_in_a_session_is_a_400_page(
    client: Client, runtime: Runtime, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    browser = await logged_in(client)
    incident = await declare(runtime)
    _, body, content_type = next(c for c in unreadable(browser.csrf) if c[0] == case)
    async with leaves_nothing(runtime, caplog):
        resp = await client.post(
            f"/incidents/{incident.number}/notes",
            data=body,
            headers={**browser.headers(), "Content-Type": content_type},
            allow_redirects=False,
        )
        text = await resp.text()
        assert resp.status == 400, text
        assert "<!doctype html>" in text and "could not be read" in text


HUGE = "9" * 30


@pytest.mark.parametrize(
    ("method", "path", "expect"),
    [
        ("GET", f"/incidents/{HUGE}", 404),
        ("GET", "/incidents/²", 404),
        ("GET", f"/incidents/{2**40}", 404),
        ("GET", f"/incidents/{2**40}/postmortem.md", 404),
        ("POST", f"/incidents/{HUGE}/notes", 404),
        ("POST", f"/incidents/{2**40}/notes", 404),
        ("POST", "/incidents/1/action-items/²", 400),
        ("POST", f"/incidents/1/action-items/{HUGE}", 404),
        ("POST", f"/incidents/1/action-items/{2**40}", 404),
    ],
)
async def test_numbers_no_row_can_have_are_a_4xx_page(
    client: Client,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    expect: int,
) -> None:
    browser = await logged_in(client)
    await declare(runtime)
    async with leaves_nothing(runtime, caplog):
        if method == "GET":
            status, body = await browser.get(path)
        else:
            resp = await browser.post(path, {"text": "hello", "done": "1"})
            status, body = resp.status, await resp.text()
        assert status == expect, body
        assert "<!doctype html>" in body


@pytest.mark.parametrize(
    ("form", "data", "message"),
    [
        pytest.param(
            "action-items",
            {"text": "Add alert", "due": "9999-12-31"},
            "due: 9999-12-31T23:59:59+00:00 is out of range",
            id="due-date-in-year-9999",
        ),
        pytest.param(
            "status", {"status": "resolved", "text": "\x00"}, "NUL character", id="nul-character"
        ),
    ],
)
async def test_a_value_the_database_cannot_hold_is_a_400_page(
    client: Client,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    form: str,
    data: dict[str, str],
    message: str,
) -> None:
    browser = await logged_in(client)
    incident = await declare(runtime)
    async with leaves_nothing(runtime, caplog):
        resp = await browser.post(f"/incidents/{incident.number}/{form}", data)
        assert resp.status == 400
        assert message in await resp.text()
