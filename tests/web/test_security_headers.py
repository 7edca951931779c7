"""Every response says nosniff; with an https public URL every response also carries HSTS."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import API_TOKEN
from tests.web.support import Client

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
# (method, path, headers): JSON, HTML, errors raised as exceptions, unknown routes, webhooks.
REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/healthz", {}),
    ("GET", "/api/incidents", AUTH),
    ("GET", "/api/incidents", {}),
    ("GET", "/api/incidents/INC-999", AUTH),
    ("POST", "/webhooks/alertmanager", {}),
    ("GET", "/no/such/route", {}),
    ("GET", "/login", {}),
    ("GET", "/incidents", {}),
    ("GET", "/assets/sitrep.css", {}),
]


@pytest.mark.parametrize(("method", "path", "headers"), REQUESTS)
async def test_https_deployments_send_hsts_and_nosniff(
    client: Client, method: str, path: str, headers: dict[str, str]
) -> None:
    resp = await client.request(method, path, headers=headers, allow_redirects=False)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"


async def test_json_errors_are_never_sniffed(client: Client) -> None:
    resp = await client.get("/api/incidents/%3Cscript%3E", headers=AUTH)
    assert resp.status == 400
    assert resp.content_type == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


class TestPlainHttpDeployment:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"public_url": "http://sitrep.internal:8080"}

    @pytest.mark.parametrize(("method", "path", "headers"), REQUESTS)
    async def test_no_hsts_but_still_nosniff(
        self, client: Client, method: str, path: str, headers: dict[str, str]
    ) -> None:
        resp = await client.request(method, path, headers=headers, allow_redirects=False)
        assert "Strict-Transport-Security" not in resp.headers
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
