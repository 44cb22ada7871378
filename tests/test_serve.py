"""`make serve`, the production profile, as a user starts it: scripts/serve.sh against a throwaway PostgreSQL
database (created by the script, dropped afterwards), on free ports. It must come up healthy (/healthz 200: the
worker's heartbeat arrived), serve the log-in page and a collected static file, answer a 404 with the plain page (DEBUG
is off: no traceback), keep OAuth parameters out of its access log, and stop cleanly on SIGTERM.

Needs PostgreSQL (DATABASE_URL's server, else 127.0.0.1:5432 as user postgres), which every machine of the project
runs, CI's included: its absence is a failure that names the server, never a skip.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
import requests
from cryptography.fernet import Fernet

pytestmark = pytest.mark.production

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 150.0  # bootstrap (venv present), migrate a new database, collectstatic, three processes
STOP_TIMEOUT = 30.0
# What a user's shell may hold that would change the profile under test; the script decides these itself.
NOT_INHERITED = ("DJANGO_", "DATABASE_", "QBO_", "Q_", "SECURE_", "SESSION_", "CSRF_", "SENTRY_", "LOG_", "PYTEST")


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    server = url if url.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/postgres"
    return urlparse(server)._replace(path="/postgres").geturl()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def database():
    server = _server_url()
    try:
        psycopg.connect(server, connect_timeout=5).close()
    except psycopg.OperationalError as e:
        pytest.fail(f"PostgreSQL is unreachable at {urlparse(server).netloc} (make serve needs it): {e}")
    name = f"kadouri_serve_test_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    yield urlparse(server)._replace(path=f"/{name}").geturl(), server, name
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _environment(database_url: str, port: int, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
    emulator = _free_port()
    return env | {
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "QBO_TOKEN_KEYS": Fernet.generate_key().decode(),
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": f"http://127.0.0.1:{emulator}",
        "QBO_CLIENT_ID": "serve-test-client",
        "QBO_CLIENT_SECRET": "serve-test-" + secrets.token_urlsafe(16),
        "QBO_WEBHOOK_VERIFIER_TOKEN": "serve-test-" + secrets.token_urlsafe(16),
        "QBO_REDIRECT_URI": f"http://127.0.0.1:{port}/api/quickbooks/callback",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "Q_WORKERS": "1",
        "SERVE_EMULATOR_STATE": str(work / "emulator.json"),  # not the developer's own `make serve` state
    }


def _wait_healthy(base: str, serve: subprocess.Popen, log: Path) -> dict:
    deadline, last = time.monotonic() + START_TIMEOUT, None
    while time.monotonic() < deadline:
        assert serve.poll() is None, f"make serve ended (exit {serve.returncode}):\n{log.read_text()[-4000:]}"
        try:
            last = requests.get(f"{base}/healthz", timeout=5)
            if last.status_code == 200:
                return last.json()
        except requests.RequestException:
            pass
        time.sleep(0.5)
    shown = last.text if last is not None else "no answer"
    raise AssertionError(f"/healthz not 200 within {START_TIMEOUT:.0f} s ({shown}):\n{log.read_text()[-4000:]}")


def _stop(serve: subprocess.Popen) -> float:
    started = time.monotonic()
    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=STOP_TIMEOUT)
    return time.monotonic() - started


def test_make_serve_runs_the_production_profile_and_stops_cleanly(database, tmp_path):
    database_url, server, name = database
    port = _free_port()
    base, log = f"http://127.0.0.1:{port}", tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            ["scripts/serve.sh", "--no-demo"],
            cwd=REPO,
            env=_environment(database_url, port, tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        health = _wait_healthy(base, serve, log)
        login = requests.get(f"{base}/login/", timeout=10)
        stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', login.text)
        static = requests.get(f"{base}{stylesheet.group(1)}", timeout=10) if stylesheet else None
        missing = requests.get(f"{base}/no-such-page/", timeout=10)
        oauth = requests.get(f"{base}/api/quickbooks/callback?code=C0DE-S3CRET-77&state=ST4TE-S3CRET-88", timeout=10)
    finally:
        took = _stop(serve) if serve.poll() is None else None
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    output = log.read_text()

    assert health["status"] == "ok" and health["checks"]["worker"]["ok"], health
    assert login.status_code == 200 and 'name="password"' in login.text
    assert stylesheet, "the log-in page links no collected (hashed) stylesheet: collectstatic and the manifest"
    assert static.status_code == 200 and static.headers["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in static.headers.get("Cache-Control", "")  # whitenoise: a hashed name is forever
    assert missing.status_code == 404 and "Not found." in missing.text
    for debug_sign in ("Traceback", "DEBUG = True", "URLconf", "Page not found at"):
        assert debug_sign not in missing.text
    assert oauth.status_code == 401
    assert '"GET /api/quickbooks/callback HTTP/1.1" 401' in output  # the access log, without the query
    assert "C0DE-S3CRET-77" not in output and "ST4TE-S3CRET-88" not in output
    assert took is not None and took < STOP_TIMEOUT and serve.returncode == 0, output[-3000:]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=5)
    with psycopg.connect(server, autocommit=True) as conn:  # nothing of it is left connected to its database
        left = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()[0]
    assert left == 0
