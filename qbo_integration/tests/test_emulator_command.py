"""`python manage.py qbo_emulator` as a real process: it starts, serves, persists and refuses a corrupt state."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kadouri.test_settings", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "qbo_emulator", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_banner(process: subprocess.Popen) -> str:
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "listening on" in line or process.poll() is not None:
            break
    return "".join(lines)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_it_serves_and_keeps_its_state_across_a_restart(tmp_path):
    port, state = free_port(), tmp_path / "emulator.json"
    base = f"http://127.0.0.1:{port}"
    process = start("--port", str(port), "--state-file", str(state), "--client-id", "cid", "--client-secret", "cs")
    try:
        banner = wait_for_banner(process)
        started_in = float(re.search(r"started in ([\d.]+) s", banner).group(1))
        print(f"emulator engine+socket start: {started_in:.3f} s")
        discovery = requests.get(f"{base}/.well-known/openid_configuration", timeout=5).json()
        assert discovery["token_endpoint"] == f"{base}/oauth2/v1/tokens/bearer"
        requests.post(f"{base}/_emulator/api/clock/advance", json={"seconds": 7200}, timeout=5).raise_for_status()
    finally:
        stop(process)

    again = start("--port", str(port), "--state-file", str(state))
    try:
        wait_for_banner(again)
        clock = requests.get(f"{base}/_emulator/api/clock", timeout=5).json()
    finally:
        stop(again)
    assert json.loads(state.read_text())
    assert float(clock.get("offset_seconds", clock.get("offset", 0))) >= 7200


def test_it_refuses_a_corrupt_state_file_with_a_clear_message(tmp_path):
    state = tmp_path / "emulator.json"
    state.write_text("{not json")

    process = start("--port", str(free_port()), "--state-file", str(state))
    output, _ = process.communicate(timeout=30)

    assert process.returncode != 0
    assert str(state) in output and "Traceback" not in output
    assert state.read_text() == "{not json"  # left untouched, not silently reset
