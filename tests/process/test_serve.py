"""``sitrep serve`` as a real process: starts on SQLite with no setup, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.scheduling.cluster import free_port


def serve(
    cwd: Path, env: dict[str, str], port: int, *, stdout: int = subprocess.PIPE
) -> subprocess.Popen[str]:
    """``sitrep serve`` on ``port``, a process of its own started from the venv's script; its
    stderr piped for the test to read."""
    exe = Path(sys.executable).with_name("sitrep")
    return subprocess.Popen(
        [str(exe), "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.communicate()[1]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become ready")


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SITREP_", "SLACK_"))}
    env["SITREP_LOG_FORMAT"] = "json"
    return env


def test_serve_runs_on_embedded_sqlite_and_stops_on_sigterm(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    port = free_port()
    proc = serve(tmp_path, clean_env, port)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
        assert (tmp_path / "sitrep.db").exists()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert b"sitrep_http_request_duration_seconds" in resp.read()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert '"msg": "database ready"' in err
    assert "chat platform not configured" in err


def test_serve_refuses_bad_config_with_one_line(tmp_path: Path, clean_env: dict[str, str]) -> None:
    exe = Path(sys.executable).with_name("sitrep")
    env = {**clean_env, "SITREP_DATABASE_URL": "mysql://nope"}
    result = subprocess.run(
        [str(exe), "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: SITREP_DATABASE_URL:")
    assert result.stderr.count("\n") == 1


def test_secrets_never_reach_the_log_even_at_debug(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    secrets = {
        "SITREP_API_TOKEN": "api-token-7f3a9c",
        "SLACK_BOT_TOKEN": "xoxb-bot-token-51d2e8",
        "SLACK_SIGNING_SECRET": "signing-secret-9b4c1a",
        "SITREP_ALERTMANAGER_TOKEN": "am-token-c0ffee42",
        "SITREP_GENERIC_SECRET": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
    }
    port = free_port()
    env = {
        **clean_env,
        **secrets,
        "SITREP_LOG_LEVEL": "DEBUG",
        # Slack is unreachable: its start-up call fails and is logged, with the token in hand.
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
    }
    proc = serve(tmp_path, env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/readyz", proc, timeout=60)
        for path, headers, body in (
            ("/api/incidents", {"Authorization": f"Bearer {secrets['SITREP_API_TOKEN']}"}, b"{"),
            ("/api/incidents", {"Authorization": "Bearer wrong"}, b"{}"),
            (
                "/webhooks/alertmanager",
                {"Authorization": f"Bearer {secrets['SITREP_ALERTMANAGER_TOKEN']}"},
                b'{"version": "4", "alerts": "nope"}',
            ),
            (
                "/slack/events",
                {"X-Slack-Signature": "v0=bad", "X-Slack-Request-Timestamp": "1"},
                b"",
            ),
        ):
            request = urllib.request.Request(
                base + path,
                data=body,
                headers={**headers, "Content-Type": "application/json"},
                method="POST",
            )
            try:
                urllib.request.urlopen(request, timeout=5).close()
            except urllib.error.HTTPError as exc:
                assert 400 <= exc.code < 500, (path, exc.code)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    logged = out + err
    assert '"level": "debug"' in logged, "the run did not log at debug level"
    for name, value in secrets.items():
        assert value not in logged, f"{name} appeared in the log"
