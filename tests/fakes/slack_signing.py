"""Sign inbound requests the way Slack does (the v0 signing scheme), for tests of receivers."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign_slack_request(
    signing_secret: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """Return the timestamp and v0 signature headers Slack would send with ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    # Slack signs the raw bytes as sent; re-encoding the body would break the signature.
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}
