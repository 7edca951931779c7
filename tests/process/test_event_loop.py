"""The server's event loop: uvloop when installed, asyncio's own on request or as fallback."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bot.config import Settings
from handlers.app import new_event_loop


def _run_one_callback(loop: asyncio.AbstractEventLoop) -> str:
    async def answer() -> str:
        await asyncio.sleep(0)
        return "ok"

    try:
        return loop.run_until_complete(answer())
    finally:
        loop.close()


def test_auto_picks_uvloop_when_it_is_installed() -> None:
    pytest.importorskip("uvloop")
    loop = new_event_loop("auto")
    assert type(loop).__module__.startswith("uvloop")
    assert _run_one_callback(loop) == "ok"


def test_asyncio_setting_keeps_the_standard_loop() -> None:
    loop = new_event_loop("asyncio")
    assert type(loop).__module__.startswith("asyncio")
    assert _run_one_callback(loop) == "ok"


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    loop = new_event_loop("auto")
    assert type(loop).__module__.startswith("asyncio")
    assert _run_one_callback(loop) == "ok"


def test_asking_for_uvloop_without_it_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)
    with pytest.raises(RuntimeError, match=r"SITREP_EVENT_LOOP=uvloop.*pip install uvloop"):
        new_event_loop("uvloop")


def test_event_loop_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITREP_EVENT_LOOP", "asyncio")
    assert Settings(_env_file=None).event_loop == "asyncio"
    monkeypatch.setenv("SITREP_EVENT_LOOP", "tokio")
    with pytest.raises(ValueError, match="event_loop"):
        Settings(_env_file=None)
