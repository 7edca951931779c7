"""The one JSON decoder for request bodies: strict, bounded in depth, no NUL characters."""

from __future__ import annotations

import json

import pytest

from integrations.alerts.errors import PayloadError
from integrations.alerts.registry import decode_json
from integrations.jsonbody import MAX_DEPTH, JSONBodyError, decode, too_deep


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_nesting_up_to_the_limit_decodes() -> None:
    assert too_deep(decode(nested(MAX_DEPTH)), MAX_DEPTH) is False


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 1100, 100_000])
def test_nesting_beyond_the_limit_is_refused_with_a_message(depth: int) -> None:
    # 1000 is within orjson's own limit, 1100 beyond it (the standard parser's slow path),
    # 100,000 would end in a RecursionError there.
    with pytest.raises(JSONBodyError, match=f"nest more than {MAX_DEPTH} levels"):
        decode(nested(depth))


def test_objects_count_as_nesting_too() -> None:
    body = b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1)
    with pytest.raises(JSONBodyError):
        decode(body)


def test_integers_beyond_64_bits_decode_without_error() -> None:
    # A number, exact or as a float depending on the orjson version; never an exception.
    assert float(decode(b'{"n": 123456789012345678901234567890}')["n"]) > 1e29


@pytest.mark.parametrize("body", [b'{"a": "x\\u0000"}', b'{"\\u0000": 1}', b'[["\\u0000"]]'])
def test_nul_characters_are_refused(body: bytes) -> None:
    with pytest.raises(JSONBodyError, match="NUL"):
        decode(body)


def test_a_literal_backslash_u0000_is_text_not_nul() -> None:
    assert decode(json.dumps({"a": "\\u0000"}).encode()) == {"a": "\\u0000"}


def test_webhook_decoding_names_the_payload_field() -> None:
    with pytest.raises(PayloadError) as err:
        decode_json(nested(5000))
    assert err.value.field == "payload" and "nest more than" in err.value.message
