"""End to end with Microsoft's own Teams client stand-in: the Microsoft 365 Agents Playground.

``playground_run.py`` starts ``sitrep serve`` (anonymous Teams), the Playground (npm
``@microsoft/m365agentsplayground``, installed by ``npm ci`` in ``tests/e2e/playground``) and
headless Chromium, all inside a fresh network namespace with only loopback (``unshare -n``):
the Playground's telemetry reaches for outside addresses even with ``--disable-telemetry``, and
no test may send traffic off the machine. It walks declare → Acknowledge button → status →
update → timeline → resolve → help and reports what the page showed; this test judges that.
Skips, saying why, when node, the Playground, Chromium, playwright or ``unshare`` are missing.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
RUN = HERE / "playground_run.py"
PLAYGROUND = HERE / "playground" / "node_modules" / ".bin" / "agentsplayground"
CHROMIUM = Path("/usr/bin/chromium")


def _missing() -> str | None:
    """Why the walk cannot run here, or ``None``."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not PLAYGROUND.exists():
        return f"the Agents Playground is not installed (run `npm ci` in {PLAYGROUND.parents[2]})"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    probe = subprocess.run(
        ["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=30
    )
    if probe.returncode != 0:
        return f"cannot make a loopback-only network namespace: {probe.stderr.decode()[:200]}"
    return None


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return f"({path.name}: none)"
    return f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the walk once; every test below reads its report."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("playground")
    proc = subprocess.run(
        [
            "unshare",
            "-n",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" "$@"',
            sys.executable,
            str(RUN),
            "--workdir",
            str(workdir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    logs = "\n".join(_tail(workdir / f"{n}.log") for n in ("sitrep", "playground"))
    assert proc.returncode == 0, f"{proc.stderr[-3000:]}\n{logs}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    failed = [s for s in result["steps"] if not s["ok"]]
    assert not result["error"] and not failed, f"{result['error']} {failed}\n{logs}"
    result["by_name"] = {s["name"]: s for s in result["steps"]}
    # The run time is measured for the report; no assertion on it (CI machines vary).
    print(f"playground walk: {result['seconds']}s (start-up {result.get('startup_seconds')}s)")
    return result


def cards(walk: dict[str, Any], step: str) -> list[str]:
    """What the Adaptive Cards on the page said after ``step``."""
    shown: list[str] = walk["by_name"][step]["cards"]
    return shown


def test_every_step_of_the_walk_reached_the_page(walk: dict[str, Any]) -> None:
    assert list(walk["by_name"]) == [
        "declare",
        "room",
        "acknowledge",
        "status",
        "update",
        "timeline",
        "resolve",
        "room_after",
        "help",
    ]


def test_declare_opens_a_thread_with_a_summary_card_in_the_general_channel(
    walk: dict[str, Any],
) -> None:
    assert any("INC-1 declared (SEV2): Checkout errors" in c for c in cards(walk, "declare"))
    room = cards(walk, "room")
    assert any(c.startswith("🚨 INC-1 · Checkout errors") for c in room)
    [summary] = [c for c in room if "SEV2 · investigating" in c]
    assert "Commander: Alex Wilber" in summary and "Acknowledge" in summary.splitlines()


def test_acknowledge_button_refreshes_the_card_in_place(walk: dict[str, Any]) -> None:
    [summary] = [c for c in cards(walk, "acknowledge") if "SEV2 · investigating" in c]
    assert "acknowledged" in summary
    assert "Acknowledge" not in summary.splitlines()  # the button is gone
    assert {"Change status", "Post update", "Resolve"} <= set(summary.splitlines())


def test_status_update_and_resolve_are_answered_and_reach_the_room(walk: dict[str, Any]) -> None:
    assert any(
        "INC-1: Status changed from investigating to identified" in c for c in cards(walk, "status")
    )
    assert any("INC-1: Rolled back the bad deploy" in c for c in cards(walk, "update"))
    assert any("INC-1: Resolved" in c for c in cards(walk, "resolve"))
    room = cards(walk, "room_after")
    [summary] = [c for c in room if c.startswith("INC-1 · Checkout errors")]
    assert "SEV2 · resolved" in summary and "Resolve" not in summary.splitlines()
    assert any(
        "Update on INC-1" in c and "Rolled back the bad deploy" in c and "Alex Wilber" in c
        for c in room
    )


def test_timeline_names_people_one_event_per_line(walk: dict[str, Any]) -> None:
    [timeline] = [c for c in cards(walk, "timeline") if c.startswith("INC-1 timeline")]
    lines = timeline.splitlines()
    assert len(lines) == 6, lines
    assert lines[2].endswith("Commander is now Alex Wilber")
    assert lines[3].endswith("Acknowledged by Alex Wilber")
    assert "user-id-0" not in timeline  # the Playground's id for Alex
    assert not [c for c in cards(walk, "room_after") if "user-id-0" in c]


def test_help_shows_placeholders_and_keeps_its_lines(walk: dict[str, Any]) -> None:
    [help_card] = [c for c in cards(walk, "help") if c.startswith("sitrep commands:")]
    lines = help_card.splitlines()
    assert "declare <title> [sev1-4] [private] · declare an incident and open its room" in (
        " ".join(lines)
    )
    assert any(line.startswith("declare <title> [sev1-4] [private]") for line in lines)
    assert any(line.startswith("note <text> · put something") for line in lines)
    assert len(lines) >= 18
