"""Running `firstline` as a real process in tests: start it, wait until it is ready, stop it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

FIRSTLINE = str(Path(sys.executable).parent / "firstline")
ROOT = Path(__file__).resolve().parents[2]
# Where ./scripts/setup.sh converted the bundled model: processes under test share it.
BUNDLED_MODELS_DIR = ROOT / "data" / "models"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_firstline(
    env: Mapping[str, str],
    port: int,
    ready: Callable[[dict[str, Any]], bool] = lambda status: bool(status.get("ready")),
    log: Path | None = None,
    timeout: float = 120,
) -> subprocess.Popen[str]:
    """`firstline run` with this environment, once its /readyz satisfies ``ready``."""
    stderr = log.open("a") if log else subprocess.PIPE
    process = subprocess.Popen([FIRSTLINE, "run"], env=dict(env), stderr=stderr, text=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json()
            if ready(status):
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_firstline(process)
            output = log.read_text() if log else (process.stderr.read() if process.stderr else "")
            pytest.fail(f"firstline run did not become ready:\n{output[-4000:]}")
        time.sleep(0.3)


def stop_firstline(process: subprocess.Popen[str]) -> str:
    """Stop it as a service manager would (SIGTERM); its stderr when captured."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return stderr or ""


def create_token(env: Mapping[str, str], role: str, name: str) -> str:
    """`firstline token create` in this environment: the new admin API token."""
    created = subprocess.run(
        [FIRSTLINE, "token", "create", "--role", role, "--name", name],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return created.stdout.strip()
