"""Verify that an alert webhook came from its configured sender: pure functions, no I/O.

Every function returns None when the request checks out and raises `AuthError` otherwise, with
a short reason (`missing credentials`, `bad credentials`, `missing signature`, `bad signature`,
`missing timestamp`, `bad timestamp`, `stale timestamp`, `not configured`) that is safe to log
and never contains a secret. Comparisons are constant-time. Signatures are checked over the raw
request body, before any JSON parsing: re-serialized JSON would not match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence

from integrations.alerts.errors import AuthError
from integrations.alerts.model import lower_headers

__all__ = [
    "GRAFANA_SIGNATURE_HEADER",
    "GRAFANA_TIMESTAMP_HEADER",
    "verify_bearer_or_basic",
    "verify_grafana_hmac",
    "verify_pagerduty_v3",
    "verify_shared_secret",
    "verify_standard_webhooks",
]

GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMP_HEADER = "X-Grafana-Alerting-Signature-Timestamp"
# Grafana's signer falls back to this name when the contact point's header field is left
# empty, although its UI and docs show the one above as the default; accept either.
_GRAFANA_FALLBACK_SIGNATURE_HEADER = "X-Grafana-Alert-Signature"

_WHSEC_PREFIX = "whsec_"


def _same(given: str | bytes, expected: str | bytes) -> bool:
    # compare_digest refuses non-ASCII str; compare UTF-8 bytes so any secret works.
    a = given.encode() if isinstance(given, str) else given
    b = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _fresh(timestamp: str, now: float, max_age: float) -> None:
    try:
        sent = int(timestamp.strip())
    except ValueError:
        raise AuthError("bad timestamp") from None
    if abs(now - sent) > max_age:
        raise AuthError("stale timestamp")


def verify_bearer_or_basic(
    authorization_header: str | None,
    *,
    bearer_token: str | None = None,
    basic_user: str | None = None,
    basic_password: str | None = None,
) -> None:
    """Check an `Authorization` header against a bearer token or basic-auth credentials.

    Basic auth counts as configured only with both a user and a password: a user alone would
    otherwise let anyone in who sends that name and an empty password.
    """
    if not basic_password:
        basic_user = None
    if not bearer_token and not basic_user:
        raise AuthError("not configured")
    if not authorization_header or not authorization_header.strip():
        raise AuthError("missing credentials")
    scheme, _, credentials = authorization_header.strip().partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme == "bearer" and bearer_token:
        if _same(credentials, bearer_token):
            return
        raise AuthError("bad credentials")
    if scheme == "basic" and basic_user:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise AuthError("bad credentials") from None
        user, _, password = decoded.partition(":")
        # Both comparisons always run, so timing does not say which half was wrong.
        user_ok = _same(user, basic_user)
        password_ok = _same(password, basic_password or "")
        if user_ok and password_ok:
            return
        raise AuthError("bad credentials")
    raise AuthError("bad credentials")


def verify_grafana_hmac(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str,
    now: float,
    max_age: float = 300,
    signature_header: str = GRAFANA_SIGNATURE_HEADER,
    timestamp_header: str | None = GRAFANA_TIMESTAMP_HEADER,
    require_timestamp: bool = False,
) -> None:
    """Check Grafana's webhook HMAC: hex HMAC-SHA256 of the body, or of `timestamp:body`."""
    if not secret:
        raise AuthError("not configured")
    lowered = lower_headers(headers)
    signature = lowered.get(signature_header.lower())
    if signature is None and signature_header == GRAFANA_SIGNATURE_HEADER:
        signature = lowered.get(_GRAFANA_FALLBACK_SIGNATURE_HEADER.lower())
    if not signature or not signature.strip():
        raise AuthError("missing signature")
    timestamp = lowered.get(timestamp_header.lower()) if timestamp_header else None
    if timestamp is None and require_timestamp:
        raise AuthError("missing timestamp")
    # Grafana signs "<unix seconds>:<body>" when a timestamp header is configured on the
    # contact point, and the body alone otherwise. Dropping the timestamp header from a signed
    # request cannot replay it: the body-only signature would not match.
    message = body if timestamp is None else timestamp.encode() + b":" + body
    expected = _hmac_sha256(secret.encode(), message).hex()
    if not _same(signature.strip().lower(), expected):
        raise AuthError("bad signature")
    if timestamp is not None:
        _fresh(timestamp, now, max_age)


def verify_pagerduty_v3(
    body: bytes, signature_header: str | None, *, secrets: Sequence[str]
) -> None:
    """Check `X-PagerDuty-Signature` (`v1=<hex>,v1=<hex>`) against any configured secret."""
    keys = [secret.encode() for secret in secrets if secret]
    if not keys:
        raise AuthError("not configured")
    if not signature_header or not signature_header.strip():
        raise AuthError("missing signature")
    given = [
        part.strip()[3:].lower()
        for part in signature_header.split(",")
        if part.strip().startswith("v1=")
    ]
    if not given:
        raise AuthError("missing signature")
    # PagerDuty signs with every active secret during a rotation, and sitrep may hold the old
    # and new secret too: any (configured secret, v1 signature) pair matching is enough.
    for key in keys:
        expected = _hmac_sha256(key, body).hex()
        if any(_same(signature, expected) for signature in given):
            return
    raise AuthError("bad signature")


def _standard_webhooks_keys(secret: str) -> list[bytes]:
    if secret.startswith(_WHSEC_PREFIX):
        try:
            return [base64.b64decode(secret[len(_WHSEC_PREFIX) :], validate=True)]
        except binascii.Error:
            raise AuthError("not configured: secret is not whsec_<base64>") from None
    # Without the prefix the secret may be the raw key (what "raw" senders use) or the bare
    # base64 the reference libraries decode; try both, either one still needs the secret.
    keys = [secret.encode()]
    try:
        decoded = base64.b64decode(secret, validate=True)
    except binascii.Error:
        return keys
    if decoded and decoded not in keys:
        keys.append(decoded)
    return keys


def verify_standard_webhooks(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str,
    now: float,
    tolerance: float = 300,
) -> None:
    """Check a Standard Webhooks signature over `{webhook-id}.{webhook-timestamp}.{body}`."""
    if not secret:
        raise AuthError("not configured")
    lowered = lower_headers(headers)
    message_id = (lowered.get("webhook-id") or "").strip()
    timestamp = (lowered.get("webhook-timestamp") or "").strip()
    signatures = (lowered.get("webhook-signature") or "").split()
    if not signatures:
        raise AuthError("missing signature")
    if not message_id:
        raise AuthError("missing webhook-id")
    if not timestamp:
        raise AuthError("missing timestamp")
    given = []
    for entry in signatures:
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue  # v1a (ed25519) and future versions are not ours to check
        try:
            given.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            continue
    if not given:
        raise AuthError("missing signature")
    message = f"{message_id}.{timestamp}.".encode() + body
    for key in _standard_webhooks_keys(secret):
        expected = _hmac_sha256(key, message)
        if any(_same(signature, expected) for signature in given):
            _fresh(timestamp, now, tolerance)
            return
    raise AuthError("bad signature")


def verify_shared_secret(header_value: str | None, *, secret: str) -> None:
    """Check a custom header that carries a shared secret verbatim (Datadog, Opsgenie)."""
    if not secret:
        raise AuthError("not configured")
    if not header_value or not header_value.strip():
        raise AuthError("missing credentials")
    if not _same(header_value.strip(), secret):
        raise AuthError("bad credentials")
