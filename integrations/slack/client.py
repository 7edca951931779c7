"""The Slack Web API client, pointed at ``SLACK_API_URL`` (a local fake in tests)."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient


def make_client(token: str, base_url: str, *, timeout: int = 10) -> AsyncWebClient:
    """A client that retries connection errors, 5xx and 429 once before the outbox takes over.

    The outbox has its own backoff; one quick in-client retry rides out blips without making
    a lane wait, and a longer outage falls back to the outbox's schedule.
    """
    if not base_url.endswith("/"):
        base_url += "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncServerErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
        ],
    )
