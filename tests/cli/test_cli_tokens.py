"""``sitrep tokens`` and ``sitrep audit`` in-process against a real database (mounted here as
the main CLI will mount them)."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import text

from bot.identity.tokens import token_hash
from storage.db import create_db_engine
from tests.support.cli import cli_env, sitrep  # noqa: F401 (cli_env: autouse)


def test_create_list_and_revoke_a_token(database_url: str) -> None:
    code, out, _ = sitrep(
        "tokens", "create", "--owner", "U123", "--name", "ci",
        "--scope", "incidents:write", "--expires", "30d",
    )  # fmt: skip
    assert code == 0, out
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("srp_")
    engine = create_db_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_token")).scalar_one()
    engine.dispose()
    assert stored == token_hash(secret)

    code, out, _ = sitrep("tokens", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["state"] == "active" and listed["scopes"] == ["incidents:write"]
    assert secret not in out

    code, out, _ = sitrep("tokens", "revoke", str(listed["id"]))
    assert code == 0 and "revoked" in out
    code, out, _ = sitrep("tokens", "list", "--json")
    assert json.loads(out)[0]["state"] == "revoked"


def test_bad_scope_or_expiry_is_one_line_and_creates_nothing() -> None:
    code, _, err = sitrep("tokens", "create", "--owner", "U1", "--name", "x", "--scope", "root")
    assert code == 2 and "unknown scope 'root'" in err and "Traceback" not in err
    code, _, err = sitrep(
        "tokens", "create", "--owner", "U1", "--name", "x", "--scope", "admin", "--expires", "1y"
    )
    assert code == 2 and "expiry" in err
    assert json.loads(sitrep("tokens", "list", "--json")[1]) == []
    assert sitrep("tokens", "revoke", "7")[0] == 2


def test_audit_export_and_verify_find_an_edited_entry(database_url: str) -> None:
    for name in ("a", "b", "c"):
        sitrep("tokens", "create", "--owner", "U1", "--name", name, "--scope", "admin")
    code, out, _ = sitrep("audit", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["seq"], r["action"], r["surface"]) for r in rows] == [
        ("1", "token.create", "cli"),
        ("2", "token.create", "cli"),
        ("3", "token.create", "cli"),
    ]
    code, out, _ = sitrep("audit", "export", "--format", "json")
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [1, 2, 3]
    code, out, _ = sitrep("audit", "verify")
    assert code == 0 and "intact: 3 entries" in out

    engine = create_db_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'cli:mallory' WHERE seq = 2"))
    engine.dispose()
    code, _, err = sitrep("audit", "verify")
    assert code == 1 and "broken at entry 2" in err
