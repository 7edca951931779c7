"""After login, sitrep returns only to its own pages: every open-redirect trick falls back."""

from __future__ import annotations

import pytest

from integrations.web.session import safe_next
from tests.conftest import API_TOKEN
from tests.web.support import Client

FALLBACK = "/incidents"

LOCAL = [
    "/incidents",
    "/incidents/7",
    "/incidents/7/postmortem.md",
    "/incidents?status=open&severity=SEV1",
    "/incidents?status=open#top",
    "/incidents%2F7",
    "/a/../incidents",
    "/@evil.example",  # a path on this site, not a userinfo part
]

# Each of these is, to some browser, a URL on another site (or not a path at all).
OFF_SITE = [
    "",
    "incidents",
    "evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "data:text/html,hi",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    # Browsers drop tab, CR and LF anywhere in a URL: these become //evil.example.
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%0D%0A/evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    # Leading whitespace and control characters are stripped too.
    " //evil.example",
    "\x00//evil.example",
    "/%00/evil.example",
    "/%20/evil.example",
    "/ /evil.example",
    "/\x0b/evil.example",
    "/\x0c/evil.example",
    "/\x7f/evil.example",
    # Encoded slashes and backslashes, once or twice.
    "/%2Fevil.example",
    "/%2f/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%5c%5cevil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "/%255Cevil.example",
    "/%2509/evil.example",
    # Unicode that some parsers fold into separators, and broken encodings.
    "/\u2028/evil.example",
    "/%E2%80%A8/evil.example",
    "/\uff0f/evil.example",
    "/%EF%BC%8F%EF%BC%8Fevil.example",
    "/\u3000/evil.example",
    "/%FF",
    "/%C3",
    # Absurdly long.
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("value", LOCAL)
def test_local_paths_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize("value", OFF_SITE)
def test_anything_else_falls_back_to_the_incident_list(value: str) -> None:
    assert safe_next(value) == FALLBACK


@pytest.mark.parametrize(
    "value", ["/%09/evil.example", "/\t/evil.example", "/%2F/evil.example", "//evil.example"]
)
async def test_login_redirects_home_instead_of_off_site(client: Client, value: str) -> None:
    resp = await client.post(
        "/login", data={"token": API_TOKEN, "next": value}, allow_redirects=False
    )
    assert resp.status == 303
    assert resp.headers["Location"] == FALLBACK


async def test_login_form_does_not_carry_an_off_site_return_path(client: Client) -> None:
    resp = await client.get("/login", params={"next": "/%09/evil.example"})
    body = await resp.text()
    assert resp.status == 200
    assert "evil.example" not in body
    assert f'name="next" value="{FALLBACK}"' in body
