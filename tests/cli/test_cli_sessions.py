"""``sitrep sessions list`` and ``sitrep sessions revoke`` beside the running server: the CLI
lists the sessions signed in on the web, and a session it revokes is signed out on its next
request, audited as the web admin's sign-out is but with the operator and surface cli."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from bot.identity.session_registry import SessionRegistry
from bot.identity.sessions import agent_summary, session_hash
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.security.access import Access
from handlers import clikit
from handlers.cli import app as cli
from tests.web.support import Browser, Client, logged_in, session_for
from tests.web.test_sessions import DANA, KEY

OTHER_WORKSPACE = "T-OTHER"


@pytest.fixture
def sitrep(
    client: Client,
    clock: FixedClock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Any:
    """Run ``sitrep sessions …`` against the server's database, as an operator on the box."""
    # The CLI reads the real time; sessions the server opens must still be live by it.
    clock.set(datetime.now(UTC) + timedelta(minutes=5))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITREP_DATABASE_URL", database_url)
    # A wide terminal, so the table's cells are not folded mid-word.
    monkeypatch.setattr(clikit.out, "width", 200)

    async def invoke(*args: str) -> Result:
        return await asyncio.to_thread(lambda: CliRunner().invoke(cli, ["sessions", *args]))

    return invoke


async def _listed(sitrep: Any, *args: str) -> list[dict[str, Any]]:
    result = await sitrep("list", "--json", *args)
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


async def _dana(client: Client, runtime: Runtime) -> Browser:
    return await session_for(client, runtime, KEY, DANA, Access.RESPONDER, "Dana Scully")


async def _revocations(runtime: Runtime) -> list[Any]:
    return [e for e in await runtime.audit.page() if e.action == "session.revoke"]


async def test_list_shows_a_web_sign_in_with_its_name_and_public_id_never_its_secret(
    sitrep: Any, client: Client, runtime: Runtime
) -> None:
    alice = await logged_in(client, "alice")
    await _dana(client, runtime)
    (live_alice,) = await runtime.sessions.list_live("web:alice")
    rows = await _listed(sitrep)
    assert [(r["person"], r["name"], r["role"]) for r in rows] == [
        (DANA, "Dana Scully", "responder"),
        ("web:alice", "alice", "admin"),
    ]
    assert rows[1]["id"] == live_alice.id and rows[1]["browser"].startswith("aiohttp")
    table = await sitrep("list")
    assert table.exit_code == 0
    (dana_line,) = [line for line in table.stdout.splitlines() if DANA in line]
    assert "Dana Scully" in dana_line and "responder" in dana_line
    secret_cookie = alice.cookie
    for shown in (table.stdout, json.dumps(rows)):
        assert secret_cookie not in shown
        # Neither the secret nor its stored hash is the id an operator sees.
        assert all(session_hash(part) not in shown for part in secret_cookie.split("."))
    assert [r["person"] for r in await _listed(sitrep, "--person", DANA)] == [DANA]


async def test_revoking_a_session_signs_that_browser_out_on_its_next_request(
    sitrep: Any, client: Client, runtime: Runtime
) -> None:
    alice = await logged_in(client, "alice")
    bob = await logged_in(client, "bob")
    assert (await alice.get("/incidents"))[0] == 200
    (target,) = [r for r in await _listed(sitrep) if r["person"] == "web:alice"]
    result = await sitrep("revoke", str(target["id"]))
    assert result.exit_code == 0, result.stderr
    assert f"session #{target['id']} of alice (web:alice) signed out" in result.stdout
    status, _ = await alice.get("/incidents")
    assert status == 303  # to the sign-in page, as for any ended session
    assert (await bob.get("/incidents"))[0] == 200
    (entry,) = await _revocations(runtime)
    assert entry.actor.startswith("cli:") and entry.surface == "cli"
    assert entry.target == f"session:{target['id']}"
    assert entry.detail["people"] == ["web:alice"]
    assert entry.detail["reason"] == "signed out by an admin"
    assert [r["person"] for r in await _listed(sitrep)] == ["web:bob"]
    ended = await _listed(sitrep, "--all")
    assert {(r["person"], r["state"]) for r in ended} == {
        ("web:alice", "revoked"),
        ("web:bob", "live"),
    }


async def test_revoke_person_signs_out_all_their_sessions_and_nobody_elses(
    sitrep: Any, client: Client, runtime: Runtime
) -> None:
    dana = [await _dana(client, runtime) for _ in range(2)]
    alice = await logged_in(client, "alice")
    result = await sitrep("revoke", "--person", DANA)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("signed out") == 2
    assert [(await d.get("/incidents"))[0] for d in dana] == [303, 303]
    assert (await alice.get("/incidents"))[0] == 200
    (entry,) = await _revocations(runtime)
    # The very entry the web's "Sign out everywhere" writes, but by the operator from the CLI.
    assert (entry.surface, entry.target) == ("cli", f"person:{DANA}")
    assert entry.actor.startswith("cli:")
    assert len(entry.detail["sessions"]) == 2
    assert entry.detail["reason"] == "signed out by an admin"


async def test_unknown_ids_and_people_are_refused_with_exit_2_and_nothing_audited(
    sitrep: Any, client: Client, runtime: Runtime
) -> None:
    alice = await logged_in(client, "alice")
    for args, message in [
        (("revoke", "999999"), "error: no live session #999999 in this workspace"),
        (("revoke", "abc"), "error: no session 'abc'"),
        (("revoke", "--person", "web:nobody"), "no live session of 'web:nobody'"),
        (("revoke",), "give a session id or --person"),
        (("revoke", "1", "--person", "web:alice"), "give a session id or --person"),
    ]:
        result = await sitrep(*args)
        assert result.exit_code == 2, (args, result.stdout)
        assert message in result.stderr and "Traceback" not in result.stderr
    assert await _revocations(runtime) == []
    assert (await alice.get("/incidents"))[0] == 200


async def test_a_session_of_another_workspace_is_neither_listed_nor_revocable(
    sitrep: Any, client: Client, runtime: Runtime, clock: FixedClock
) -> None:
    other = SessionRegistry(runtime.db, clock, OTHER_WORKSPACE)
    theirs, secret = await other.open("U-THEIRS", "Them", Access.ADMIN)
    await logged_in(client, "alice")
    assert [r["person"] for r in await _listed(sitrep, "--all")] == ["web:alice"]
    assert await _listed(sitrep, "--person", "U-THEIRS") == []
    result = await sitrep("revoke", str(theirs.id))
    assert result.exit_code == 2 and f"no live session #{theirs.id}" in result.stderr
    result = await sitrep("revoke", "--person", "U-THEIRS")
    assert result.exit_code == 2
    assert await other.check(secret) is not None
    assert await _revocations(runtime) == []


def test_the_browser_column_names_browser_and_system_in_a_few_words() -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
    edge = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
    )
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
    )
    assert [agent_summary(a) for a in (firefox, edge, iphone)] == [
        "Firefox on Linux",
        "Edge on Windows",
        "Safari on iOS",
    ]
    assert agent_summary("") == "unknown browser"
    assert agent_summary("x" * 60) == "x" * 40 + "…"
