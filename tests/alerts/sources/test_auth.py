"""Webhook authentication: each scheme accepts its sender and refuses everything else."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import pytest

from integrations.alerts import (
    AuthError,
    verify_bearer_or_basic,
    verify_grafana_hmac,
    verify_pagerduty_v3,
    verify_shared_secret,
    verify_standard_webhooks,
)

BODY = b'{"receiver":"sitrep","status":"firing","alerts":[]}'
NOW = 1_795_474_800.0


def hex_hmac(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def b64_hmac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def reason(call: Callable[[], None]) -> str:
    with pytest.raises(AuthError) as caught:
        call()
    return caught.value.reason


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- Bearer / Basic (Alertmanager http_config) -----------------------------------------------

TOKEN = "am-token-7f3c9e"


def check(header: str | None, *, token: str | None = TOKEN, user: str | None = "am") -> None:
    verify_bearer_or_basic(header, bearer_token=token, basic_user=user, basic_password="s3:cr3t")


def test_bearer_token_accepted() -> None:
    check(f"Bearer {TOKEN}")
    check(f"bearer   {TOKEN}  ")


def test_basic_credentials_accepted_even_with_colon_in_password() -> None:
    check(basic("am", "s3:cr3t"))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        basic("am", "wrong"),
        basic("root", "s3:cr3t"),
        "Basic !!!not-base64!!!",
        f"Token {TOKEN}",
        TOKEN,
    ],
)
def test_bad_credentials_refused(header: str) -> None:
    assert reason(lambda: check(header)) == "bad credentials"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_credentials_refused(header: str | None) -> None:
    assert reason(lambda: check(header)) == "missing credentials"


def test_scheme_that_is_not_configured_is_refused() -> None:
    assert reason(lambda: check(f"Bearer {TOKEN}", token=None)) == "bad credentials"
    assert reason(lambda: check(basic("am", "s3:cr3t"), user=None)) == "bad credentials"


def test_nothing_configured_fails_closed() -> None:
    assert reason(lambda: check(f"Bearer {TOKEN}", token=None, user=None)) == "not configured"


# --- Grafana HMAC ----------------------------------------------------------------------------

GRAFANA_SECRET = "grafana-hmac-2b7d"


def grafana(headers: dict[str, str], *, require_timestamp: bool = False) -> None:
    verify_grafana_hmac(
        BODY, headers, secret=GRAFANA_SECRET, now=NOW, require_timestamp=require_timestamp
    )


def test_grafana_body_only_signature() -> None:
    headers = {"X-Grafana-Alerting-Signature": hex_hmac(GRAFANA_SECRET, BODY)}
    verify_grafana_hmac(BODY, headers, secret=GRAFANA_SECRET, now=NOW)


def test_grafana_timestamped_signature() -> None:
    ts = str(int(NOW) - 30)
    headers = {
        "x-grafana-alerting-signature": hex_hmac(GRAFANA_SECRET, ts.encode() + b":" + BODY),
        "X-Grafana-Alerting-Signature-Timestamp": ts,
    }
    verify_grafana_hmac(BODY, headers, secret=GRAFANA_SECRET, now=NOW)


def test_grafana_uppercase_hex_and_custom_header_names() -> None:
    ts = str(int(NOW))
    headers = {
        "X-Sig": hex_hmac(GRAFANA_SECRET, ts.encode() + b":" + BODY).upper(),
        "X-Grafana-Alerting-Timestamp": ts,
    }
    verify_grafana_hmac(
        BODY,
        headers,
        secret=GRAFANA_SECRET,
        now=NOW,
        signature_header="X-Sig",
        timestamp_header="X-Grafana-Alerting-Timestamp",
    )


def test_grafana_default_header_of_its_signer_is_accepted() -> None:
    # Grafana's signer writes X-Grafana-Alert-Signature when the header field is left empty.
    headers = {"X-Grafana-Alert-Signature": hex_hmac(GRAFANA_SECRET, BODY)}
    verify_grafana_hmac(BODY, headers, secret=GRAFANA_SECRET, now=NOW)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "missing signature"),
        ({"X-Grafana-Alerting-Signature": ""}, "missing signature"),
        ({"X-Grafana-Alerting-Signature": hex_hmac("other-secret", BODY)}, "bad signature"),
        ({"X-Grafana-Alerting-Signature": hex_hmac(GRAFANA_SECRET, BODY + b" ")}, "bad signature"),
        (
            # A timestamped signature replayed without its timestamp header does not verify.
            {"X-Grafana-Alerting-Signature": hex_hmac(GRAFANA_SECRET, b"1795474800:" + BODY)},
            "bad signature",
        ),
        (
            {
                "X-Grafana-Alerting-Signature": hex_hmac(GRAFANA_SECRET, b"1795474000:" + BODY),
                "X-Grafana-Alerting-Signature-Timestamp": "1795474000",
            },
            "stale timestamp",
        ),
        (
            {
                "X-Grafana-Alerting-Signature": hex_hmac(GRAFANA_SECRET, b"1795475200:" + BODY),
                "X-Grafana-Alerting-Signature-Timestamp": "1795475200",
            },
            "stale timestamp",
        ),
        (
            {
                "X-Grafana-Alerting-Signature": hex_hmac(GRAFANA_SECRET, b"soon:" + BODY),
                "X-Grafana-Alerting-Signature-Timestamp": "soon",
            },
            "bad timestamp",
        ),
        (
            # A fresh timestamp does not rescue a signature over something else.
            {
                "X-Grafana-Alerting-Signature": hex_hmac(GRAFANA_SECRET, BODY),
                "X-Grafana-Alerting-Signature-Timestamp": str(int(NOW)),
            },
            "bad signature",
        ),
    ],
)
def test_grafana_refusals(headers: dict[str, str], expected: str) -> None:
    assert reason(lambda: grafana(headers)) == expected


def test_grafana_max_age_is_configurable() -> None:
    ts = str(int(NOW) - 500)
    headers = {
        "X-Grafana-Alerting-Signature": hex_hmac(GRAFANA_SECRET, ts.encode() + b":" + BODY),
        "X-Grafana-Alerting-Signature-Timestamp": ts,
    }
    verify_grafana_hmac(BODY, headers, secret=GRAFANA_SECRET, now=NOW, max_age=600)
    assert reason(lambda: grafana(headers)) == "stale timestamp"


def test_grafana_can_require_a_timestamp() -> None:
    headers = {"X-Grafana-Alerting-Signature": hex_hmac(GRAFANA_SECRET, BODY)}
    assert reason(lambda: grafana(headers, require_timestamp=True)) == "missing timestamp"


def test_grafana_without_secret_fails_closed() -> None:
    headers = {"X-Grafana-Alerting-Signature": hex_hmac("", BODY)}
    assert reason(lambda: verify_grafana_hmac(BODY, headers, secret="", now=NOW)) == (
        "not configured"
    )


# --- PagerDuty V3 ----------------------------------------------------------------------------

PD_OLD = "pd-secret-old-Zq1"
PD_NEW = "pd-secret-new-Xw9"


def test_pagerduty_single_signature() -> None:
    verify_pagerduty_v3(BODY, f"v1={hex_hmac(PD_NEW, BODY)}", secrets=[PD_NEW])


def test_pagerduty_sender_rotation_any_listed_signature_matches() -> None:
    header = f"v1={hex_hmac('unknown-secret', BODY)},v1={hex_hmac(PD_NEW, BODY)}"
    verify_pagerduty_v3(BODY, header, secrets=[PD_NEW])
    verify_pagerduty_v3(BODY, header.replace(",", ", "), secrets=[PD_NEW])


def test_pagerduty_receiver_rotation_any_configured_secret_matches() -> None:
    header = f"v1={hex_hmac(PD_OLD, BODY)}"
    verify_pagerduty_v3(BODY, header, secrets=[PD_NEW, PD_OLD])
    assert reason(lambda: verify_pagerduty_v3(BODY, header, secrets=[PD_NEW])) == ("bad signature")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "missing signature"),
        ("", "missing signature"),
        (f"v2={hex_hmac(PD_NEW, BODY)}", "missing signature"),
        (f"v1={hex_hmac(PD_NEW, BODY + b'x')}", "bad signature"),
        (f"v1={hex_hmac(PD_OLD, BODY)}", "bad signature"),
        ("v1=not-hex", "bad signature"),
    ],
)
def test_pagerduty_refusals(header: str | None, expected: str) -> None:
    assert reason(lambda: verify_pagerduty_v3(BODY, header, secrets=[PD_NEW])) == expected


def test_pagerduty_without_secrets_fails_closed() -> None:
    header = f"v1={hex_hmac(PD_NEW, BODY)}"
    assert reason(lambda: verify_pagerduty_v3(BODY, header, secrets=[])) == "not configured"


# --- Standard Webhooks -----------------------------------------------------------------------

# The signing test vector published with the Standard Webhooks reference libraries.
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = "1614265330"
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sw_headers(signature: str = SW_SIGNATURE, **overrides: str) -> dict[str, str]:
    headers = {"webhook-id": SW_ID, "webhook-timestamp": SW_TS, "webhook-signature": signature}
    headers.update({key.replace("_", "-"): value for key, value in overrides.items()})
    return headers


def sw_verify(headers: dict[str, str], *, body: bytes = SW_BODY, secret: str = SW_SECRET) -> None:
    verify_standard_webhooks(body, headers, secret=secret, now=float(SW_TS) + 10)


def test_standard_webhooks_reference_vector() -> None:
    sw_verify(sw_headers())


def test_standard_webhooks_whsec_secret_is_base64_decoded() -> None:
    key = base64.b64decode(SW_SECRET.removeprefix("whsec_"))
    assert "v1," + b64_hmac(key, f"{SW_ID}.{SW_TS}.".encode() + SW_BODY) == SW_SIGNATURE
    # The same key without the prefix, as the reference libraries also accept it.
    sw_verify(sw_headers(), secret=SW_SECRET.removeprefix("whsec_"))


def test_standard_webhooks_raw_secret() -> None:
    raw = "a plain shared secret"
    signature = "v1," + b64_hmac(raw.encode(), f"{SW_ID}.{SW_TS}.".encode() + SW_BODY)
    sw_verify(sw_headers(signature), secret=raw)
    assert reason(lambda: sw_verify(sw_headers(signature), secret=SW_SECRET)) == "bad signature"


def test_standard_webhooks_any_listed_signature_matches() -> None:
    listed = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v1,***",
            SW_SIGNATURE,
        ]
    )
    sw_verify(sw_headers(listed))


def test_standard_webhooks_headers_are_case_insensitive() -> None:
    headers = {
        "Webhook-Id": SW_ID,
        "Webhook-Timestamp": SW_TS,
        "Webhook-Signature": SW_SIGNATURE,
    }
    sw_verify(headers)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        (sw_headers(), SW_BODY + b" ", "bad signature"),
        (sw_headers(webhook_id="msg_other"), SW_BODY, "bad signature"),
        (sw_headers(webhook_timestamp="1614265331"), SW_BODY, "bad signature"),
        (sw_headers("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), SW_BODY, "bad signature"),
        (sw_headers(""), SW_BODY, "missing signature"),
        (sw_headers("v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw"), SW_BODY, "missing signature"),
        (sw_headers(webhook_id=""), SW_BODY, "missing webhook-id"),
        (sw_headers(webhook_timestamp=""), SW_BODY, "missing timestamp"),
    ],
)
def test_standard_webhooks_refusals(headers: dict[str, str], body: bytes, expected: str) -> None:
    assert reason(lambda: sw_verify(headers, body=body)) == expected


@pytest.mark.parametrize("offset", [-301.0, 301.0])
def test_standard_webhooks_stale_timestamp(offset: float) -> None:
    now = float(SW_TS) + offset
    assert (
        reason(lambda: verify_standard_webhooks(SW_BODY, sw_headers(), secret=SW_SECRET, now=now))
        == "stale timestamp"
    )
    verify_standard_webhooks(
        SW_BODY, sw_headers(), secret=SW_SECRET, now=float(SW_TS) + offset, tolerance=400
    )


def test_standard_webhooks_bad_secret_configuration_fails_closed() -> None:
    assert reason(lambda: sw_verify(sw_headers(), secret="whsec_***")) == (
        "not configured: secret is not whsec_<base64>"
    )
    assert reason(lambda: sw_verify(sw_headers(), secret="")) == "not configured"


# --- Shared secret header (Datadog, Opsgenie) ------------------------------------------------


def test_shared_secret_accepted() -> None:
    verify_shared_secret("dd-3f9a1c", secret="dd-3f9a1c")
    verify_shared_secret("  dd-3f9a1c\n", secret="dd-3f9a1c")
    verify_shared_secret("pässwörd-ü", secret="pässwörd-ü")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "missing credentials"),
        ("", "missing credentials"),
        ("dd-3f9a1", "bad credentials"),
        ("dd-3f9a1c-extra", "bad credentials"),
        ("DD-3F9A1C", "bad credentials"),
    ],
)
def test_shared_secret_refusals(value: str | None, expected: str) -> None:
    assert reason(lambda: verify_shared_secret(value, secret="dd-3f9a1c")) == expected


def test_shared_secret_without_secret_fails_closed() -> None:
    assert reason(lambda: verify_shared_secret("", secret="")) == "not configured"


# --- Reasons never carry the secret ----------------------------------------------------------

SECRET = "do-not-leak-9b1e"


@pytest.mark.parametrize(
    "call",
    [
        lambda: verify_bearer_or_basic(
            f"Bearer {SECRET}x", bearer_token=SECRET, basic_user=None, basic_password=None
        ),
        lambda: verify_grafana_hmac(
            BODY, {"X-Grafana-Alerting-Signature": SECRET}, secret=SECRET, now=NOW
        ),
        lambda: verify_pagerduty_v3(BODY, f"v1={SECRET}", secrets=[SECRET]),
        lambda: verify_standard_webhooks(BODY, sw_headers(), secret=SECRET, now=NOW),
        lambda: verify_shared_secret(SECRET + "x", secret=SECRET),
    ],
)
def test_refusals_never_mention_the_secret(call: Callable[[], None]) -> None:
    with pytest.raises(AuthError) as caught:
        call()
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


@pytest.mark.parametrize("password", [None, ""])
def test_basic_user_without_a_password_is_not_configured(password: str | None) -> None:
    # Settings refuse this pair at start; the check itself must not accept an empty password.
    def call() -> None:
        verify_bearer_or_basic(basic("am", ""), basic_user="am", basic_password=password)

    assert reason(call) == "not configured"
