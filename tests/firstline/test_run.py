"""`firstline run` as a process: migrates, loads the demo FAQ into an empty base, serves health checks."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from tests.support.processes import free_port, start_firstline, stop_firstline
from tests.support.tiny_model import build_tiny_model


def test_run_serves_health_and_readiness_with_the_demo_faq(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FIRSTLINE_DATA_DIR": str(tmp_path / "data"),
        "FIRSTLINE_EMBEDDING_MODEL": str(build_tiny_model(tmp_path, ["подписка", "пароль"])),
        "FIRSTLINE_API_PORT": str(port),
    }
    process = start_firstline(env, port, ready=lambda status: True)
    try:
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json() == {
            "ready": True,
            "database": "ok",
            "index": "ok (31 entries)",
            "bot": "off: FIRSTLINE_TELEGRAM_TOKEN is not set",
        }
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
    finally:
        stderr = stop_firstline(process)
    assert "the Telegram bot is off" in stderr
    # uvicorn finishes its shutdown, then re-raises the signal it caught, as service managers expect
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in stderr
