"""Drive sitrep through the Microsoft 365 Agents Playground in headless Chromium; print JSON.

Run it inside a network namespace that has only loopback (``tests/e2e/test_teams_playground.py``
does: ``unshare -n``), because the Playground's telemetry reaches for outside addresses even
with ``--disable-telemetry``. Everything it starts lives in that namespace: ``sitrep serve``
(anonymous Teams, SQLite in ``--workdir``), the Playground (``--app-endpoint`` at sitrep,
``--service-url`` at itself) and Chromium (``/usr/bin/chromium`` through playwright).

The walk: declare in the personal chat → the thread in the General channel shows the root and
the summary card → press **Acknowledge** on the card → ``status identified`` → ``update`` →
``timeline`` → ``resolve``. After each step it records what the page shows; the test asserts.
The Playground's default ids: the General channel's id is the team's, ``team-id``; the other
channel is ``channel-announcements-id``; the signed-in user is ``user-id-0``, Alex Wilber.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PLAYGROUND_DIR = Path(__file__).resolve().parent / "playground"
PLAYGROUND_BIN = PLAYGROUND_DIR / "node_modules" / ".bin" / "agentsplayground"
INCIDENTS_CHANNEL = "team-id"  # the Playground's General channel
BROADCAST_CHANNEL = "channel-announcements-id"
STEP_TIMEOUT_MS = 20_000


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, deadline: float) -> None:
    """Poll ``url`` until it answers (any status) or ``deadline`` passes."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Walk:
    """The browser side: one Playground page and what it showed after each step."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.steps: list[dict[str, Any]] = []

    async def conversation(self, label: str) -> None:
        """Open a chat or channel from the left-hand list."""
        await self.page.get_by_label(label, exact=True).first.click()

    async def say(self, text: str) -> None:
        """Type a message and send it."""
        box = self.page.get_by_role("textbox")
        await box.fill(text)
        await box.press("Enter")

    async def shows(self, text: str) -> None:
        """Wait until a card in the open conversation shows ``text`` (what we typed is no card)."""
        card = self.page.locator(".ac-adaptiveCard", has_text=text)
        await card.first.wait_for(timeout=STEP_TIMEOUT_MS)

    async def cards(self) -> list[str]:
        """The text of every Adaptive Card in the open conversation, oldest first, as rendered
        (one line per line on screen)."""
        found = await self.page.locator(".ac-adaptiveCard").all_inner_texts()
        return ["\n".join(line.strip() for line in t.splitlines() if line.strip()) for t in found]

    async def step(self, name: str, action: Callable[[], Awaitable[None]]) -> bool:
        """Run one step; record whether it got there, the cards shown and any error."""
        began = time.monotonic()
        record: dict[str, Any] = {"name": name, "ok": True, "error": ""}
        try:
            await action()
        except Exception as exc:  # recorded for the test to report, not hidden
            record.update(ok=False, error=f"{type(exc).__name__}: {str(exc)[:500]}")
        record["cards"] = await self.cards()
        record["seconds"] = round(time.monotonic() - began, 2)
        self.steps.append(record)
        return bool(record["ok"])


async def walk(page: Page, base: str, shots: Path) -> list[dict[str, Any]]:
    """The declare → acknowledge → status → update → timeline → resolve walk."""
    w = Walk(page)
    await page.goto(base)
    await page.get_by_text("Hi, I'm sitrep").first.wait_for(timeout=STEP_TIMEOUT_MS)
    await page.get_by_title("Toggle Log Panel").click()

    async def declare() -> None:
        await w.say("incident declare Checkout errors sev2")
        await w.shows("INC-1 declared (SEV2)")

    async def room() -> None:
        await w.conversation("My Team - General")
        await w.shows("🚨 INC-1")
        await page.get_by_role("button", name="Acknowledge").first.wait_for(timeout=STEP_TIMEOUT_MS)

    async def acknowledge() -> None:
        await page.get_by_role("button", name="Acknowledge").first.click()
        await page.get_by_role("button", name="Acknowledge").first.wait_for(
            state="detached", timeout=STEP_TIMEOUT_MS
        )

    async def in_personal(text: str, expect: str) -> None:
        await w.conversation("Personal Chat")
        await w.say(text)
        await w.shows(expect)

    async def status() -> None:
        await in_personal("INC-1 status identified", "Status changed from investigating")

    async def update() -> None:
        await in_personal("INC-1 update Rolled back the bad deploy", "INC-1: Rolled back the bad")

    async def timeline() -> None:
        await in_personal("INC-1 timeline", "INC-1 timeline (last")

    async def resolve() -> None:
        await in_personal("INC-1 resolve", "INC-1: Resolved")

    async def room_after() -> None:
        await w.conversation("My Team - General")
        await w.shows("Rolled back the bad deploy")
        await w.shows("SEV2 · resolved")

    async def help_card() -> None:
        await in_personal("help", "sitrep commands:")

    for name, action in [
        ("declare", declare),
        ("room", room),
        ("acknowledge", acknowledge),
        ("status", status),
        ("update", update),
        ("timeline", timeline),
        ("resolve", resolve),
        ("room_after", room_after),
        ("help", help_card),
    ]:
        ok = await w.step(name, action)
        await page.screenshot(path=str(shots / f"{len(w.steps):02d}-{name}.png"))
        if not ok:
            break
    return w.steps


def main() -> int:
    """Start sitrep and the Playground, walk the page, print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    workdir: Path = args.workdir
    began = time.monotonic()
    sitrep_port, playground_port = free_port(), free_port()
    playground = f"http://127.0.0.1:{playground_port}"
    service_url = f"{playground}/_connector"
    env = {
        **os.environ,
        "SITREP_HOST": "127.0.0.1",
        "SITREP_PORT": str(sitrep_port),
        "SITREP_DATABASE_URL": f"sqlite:///{workdir / 'sitrep.db'}",
        "SITREP_CHAT_PLATFORMS": '["teams"]',
        "SITREP_TEAMS_ALLOW_ANONYMOUS": "true",
        "SITREP_TEAMS_INCIDENTS_CHANNEL_ID": INCIDENTS_CHANNEL,
        "SITREP_TEAMS_BROADCAST_CHANNEL_ID": BROADCAST_CHANNEL,
        "SITREP_TEAMS_SERVICE_URL": service_url,
    }
    sitrep_bin = Path(sys.executable).parent / "sitrep"
    logs = {name: (workdir / f"{name}.log").open("w") for name in ("sitrep", "playground")}
    procs = [
        subprocess.Popen(
            [str(sitrep_bin), "serve"], env=env, stdout=logs["sitrep"], stderr=subprocess.STDOUT
        ),
        subprocess.Popen(
            [
                str(PLAYGROUND_BIN),
                "--app-endpoint",
                f"http://127.0.0.1:{sitrep_port}/api/messages",
                "--channel-id",
                "msteams",
                "--port",
                str(playground_port),
                "--service-url",
                service_url,
                "--disable-telemetry",
            ],
            cwd=workdir,
            # No browser of its own; its log file in our folder.
            env={
                **os.environ,
                "TEAMSAPPTESTER_BROWSER": "none",
                "M365_AGENTS_PLAYGROUND_LOGFILE": str(workdir / "playground-internal.log"),
            },
            stdout=logs["playground"],
            stderr=subprocess.STDOUT,
        ),
    ]
    result: dict[str, Any] = {"steps": [], "error": ""}
    try:
        deadline = time.monotonic() + 60
        wait_http(f"http://127.0.0.1:{sitrep_port}/healthz", deadline)
        wait_http(playground, deadline)
        result["startup_seconds"] = round(time.monotonic() - began, 2)
        result["steps"] = asyncio.run(_browse(playground, workdir))
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs.values():
            log.close()
    result["seconds"] = round(time.monotonic() - began, 2)
    print(json.dumps(result))
    return 0


async def _browse(base: str, workdir: Path) -> list[dict[str, Any]]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            return await walk(page, base, workdir)
        finally:
            await browser.close()


if __name__ == "__main__":
    sys.exit(main())
