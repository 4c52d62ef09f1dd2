"""`firstline run` as a process: migrates, loads the demo FAQ into an empty base, serves health checks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.tiny_model import build_tiny_model

FIRSTLINE = str(Path(sys.executable).parent / "firstline")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_serves_health_and_readiness_with_the_demo_faq(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "FIRSTLINE_DATA_DIR": str(tmp_path / "data"),
        "FIRSTLINE_EMBEDDING_MODEL": str(build_tiny_model(tmp_path, ["подписка", "пароль"])),
        "FIRSTLINE_API_PORT": str(port),
    }
    process = subprocess.Popen([FIRSTLINE, "run"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"firstline run did not start: {process.stderr.read() if process.stderr else ''}"
                    )
                time.sleep(0.5)
        assert ready.status_code == 200
        assert ready.json() == {"ready": True, "database": "ok", "index": "ok (31 entries)"}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert "the Telegram bot is off" in stderr
    # uvicorn finishes its shutdown, then re-raises the signal it caught, as service managers expect
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in stderr
