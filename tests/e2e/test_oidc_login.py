"""Sign in to the web UI through a real OpenID Provider (npm oidc-provider) in Chromium.

The provider runs from tests/e2e/oidc (pinned; `npm ci --prefix tests/e2e/oidc`, done by
.ci/run) on loopback. Alice is in the responders group, Victor only in ``staff`` (a viewer).
Neither is a member of the private incident: they cannot see it by URL, in the list, by
search on the page, or through the API with a personal token Victor creates on /me/tokens.
Skips with the reason when node, the installed provider, chromium or playwright are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import SecretStr

from bot.config import Settings
from bot.runtime import Runtime
from tests.conftest import API_TOKEN
from tests.scheduling.cluster import free_port
from tests.web.browser import MARKS, base_url, launch
from tests.web.support import declare

HERE = Path(__file__).parent / "oidc"
__all__ = ["base_url"]
CLIENT_ID = "sitrep-e2e"
CLIENT_SECRET = "e2e-client-secret-0123456789"

pytestmark = [
    *MARKS,
    pytest.mark.skipif(shutil.which("node") is None, reason="node missing: apt-get install nodejs"),
    pytest.mark.skipif(
        not (HERE / "node_modules" / "oidc-provider").is_dir(),
        reason="oidc-provider not installed: npm ci --prefix tests/e2e/oidc",
    ),
]


@pytest_asyncio.fixture
async def issuer(base_url: str, settings: Settings) -> AsyncIterator[str]:
    """The provider, with sitrep's callback registered, and sitrep pointed at it."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(HERE / "provider.mjs"),
        str(port),
        f"{base_url}/login/oidc/callback",
        CLIENT_ID,
        CLIENT_SECRET,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{url}/.well-known/openid-configuration") as r:
                        if r.status == 200:
                            break
                if proc.returncode is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("oidc-provider did not start")
        if proc.returncode is not None:
            assert proc.stdout is not None
            pytest.fail(f"oidc-provider exited: {(await proc.stdout.read()).decode()}")
        settings.public_url = base_url
        settings.oidc_issuer = url
        settings.oidc_client_id = CLIENT_ID
        settings.oidc_client_secret = SecretStr(CLIENT_SECRET)
        settings.oidc_responder_groups = ["sitrep-responders"]
        settings.web_shared_token_login = False
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


async def test_people_sign_in_with_the_provider_and_get_their_role(
    base_url: str, issuer: str, app: web.Application
) -> None:
    from playwright.async_api import Page, expect

    from handlers.appkeys import RUNTIME

    runtime: Runtime = app[RUNTIME]
    await declare(runtime, "Checkout API returning 500s", severity="SEV2")
    await declare(runtime, "Suspected credential leak", severity="SEV2", private=True)

    async def sign_in(page: Page, login: str, path: str) -> None:
        await page.goto(f"{base_url}{path}")
        await page.get_by_role("link", name="Sign in with your organisation account").click()
        # The provider's own login page (devInteractions), on the provider's origin.
        await page.locator('input[name="login"]').fill(login)
        await page.locator('input[name="password"]').fill("any")
        await page.locator('button[type="submit"]').click()
        await expect(page).to_have_url(f"{base_url}{path}")

    async with launch() as browser:
        # Alice, a responder: signs in, posts an update, sees her name on the timeline.
        alice = await (await browser.new_context()).new_page()
        await sign_in(alice, "alice", "/incidents/1")
        await alice.get_by_label("Update", exact=True).fill("Rolling back the bad deploy.")
        await alice.get_by_role("button", name="Post update").click()
        await expect(alice.get_by_role("status")).to_have_text("Stakeholder update posted.")
        timeline = alice.locator('table[aria-labelledby="timeline"]')
        await expect(timeline).to_contain_text("Alice Responder")
        # Being a responder is not enough for a private incident: only its members and
        # admins see it, and Alice is not on it.
        resp = await alice.goto(f"{base_url}/incidents/2")
        assert resp is not None and resp.status == 404

        # Victor, a viewer: reads the public incident, is refused an action, and the
        # private incident does not exist for him — by URL or in the list.
        victor = await (await browser.new_context()).new_page()
        await sign_in(victor, "victor", "/incidents/1")
        await victor.get_by_label("Update", exact=True).fill("I should not be able to post")
        await victor.get_by_role("button", name="Post update").click()
        await expect(victor.locator("body")).to_contain_text("this needs the responder role")
        resp = await victor.goto(f"{base_url}/incidents/2")
        assert resp is not None and resp.status == 404
        await victor.goto(f"{base_url}/incidents")
        await expect(victor.locator("body")).to_contain_text("Checkout API returning 500s")
        await expect(victor.locator("body")).not_to_contain_text("credential leak")
        # Nor by search: a word of its title finds nothing for him (a public title's
        # word does, so the search itself works for him).
        await victor.goto(f"{base_url}/search?q=credential")
        await expect(victor.get_by_role("status")).to_contain_text("No incident you can see")
        await expect(victor.locator("main")).not_to_contain_text("INC-2")
        await victor.goto(f"{base_url}/search?q=checkout")
        await expect(victor.locator("main")).to_contain_text("Checkout API returning 500s")
        # Nor through the API, with a personal token he creates himself on /me/tokens.
        await victor.goto(f"{base_url}/me/tokens")
        await victor.get_by_label("Name", exact=True).fill("victor-laptop")
        await victor.get_by_label("incidents:read").check()
        await victor.get_by_role("button", name="Create token").click()
        secret = (await victor.locator("#secret").text_content() or "").strip()
        assert secret.startswith("srp_"), secret

    async def api(token: str, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get(f"{base_url}{path}", headers=headers) as r:
                return r.status, await r.text()

    def refs(body: str) -> list[str]:
        return [hit["incident"]["ref"] for hit in json.loads(body)["results"]]

    # The operator's token finds the private incident: the index has it.
    assert refs((await api(API_TOKEN, "/api/search?q=credential"))[1]) == ["INC-2"]
    status, body = await api(secret, "/api/search?q=credential")
    assert (status, refs(body)) == (200, []), body
    assert "leak" not in body and "INC-2" not in body, body
    assert refs((await api(secret, "/api/search?q=checkout"))[1]) == ["INC-1"]
    status, body = await api(secret, "/api/incidents/INC-2")
    assert status == 404 and "leak" not in body, body
    assert (await api(secret, "/api/incidents/INC-1"))[0] == 200

    detail = await runtime.service.detail(runtime.settings.workspace, 1)
    texts = [u.text for u in detail.updates]
    assert texts == ["Rolling back the bad deploy."]
    actors = {e.actor for e in detail.timeline}
    assert any(a.startswith(f"oidc:{issuer}#alice") for a in actors), actors
