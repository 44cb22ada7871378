"""`make serve`: the production profile on this machine.

gunicorn with the repository's config (deploy/gunicorn.conf.py) and the worker (`manage.py qbo_worker`), with
DEBUG off, the production settings (kadouri.settings), PostgreSQL (created if missing, migrated) and the static
files collected and served by whitenoise — and, while QBO_ENVIRONMENT=emulator, the QuickBooks emulator beside
them (its state kept in var/qbo-emulator-serve.json, or SERVE_EMULATOR_STATE). Ctrl-C or SIGTERM stops everything
within seconds.

Settings come from the environment and .env (written as `make run` writes it when there is neither a .env nor a
SECRET_KEY). The database is DATABASE_URL when it names PostgreSQL, else postgres://postgres@127.0.0.1:5432/kadouri.
It serves plain HTTP on 127.0.0.1:$PORT (8000), so the HTTPS-only switches are off here (SSL redirect, secure
cookies, HSTS); in production a TLS proxy sits in front and they are on (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import environ
import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/kadouri"
STOP_GRACE = 15.0  # gunicorn's graceful stop and the worker's bounded one fit well inside
# Plain HTTP on this machine: the switches that need HTTPS are off (production keeps their secure defaults).
LOCAL_HTTP = {
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
}


def say(text: str) -> None:
    print(f"serve: {text}", flush=True)


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else DEFAULT_DATABASE


def ensure_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    server = parsed._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                say(f"created the PostgreSQL database {name}")
    except psycopg.OperationalError as e:
        sys.exit(f"serve: PostgreSQL is not reachable at {parsed.hostname}:{parsed.port or 5432} ({e}).")


def environment(port: int) -> dict[str, str]:
    env_file = REPO / ".env"
    if not env_file.exists() and "SECRET_KEY" not in os.environ:
        subprocess.run(
            [PY, "scripts/dev_env.py", str(env_file)], cwd=REPO, check=True, env=os.environ | {"PORT": str(port)}
        )
    environ.Env.read_env(env_file, overwrite=False)  # the children read it too; here it is needed for the emulator
    env = dict(os.environ)
    env.update(LOCAL_HTTP)
    env.update(
        DJANGO_SETTINGS_MODULE="kadouri.settings",
        DEBUG="false",
        DATABASE_URL=database_url(),
        Q_SYNC="false",
        PORT=str(port),
        HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    return env


def manage(env: dict, *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=REPO, env=env, check=True)


def prepare(env: dict, *, demo: bool) -> None:
    ensure_database(env["DATABASE_URL"])
    manage(env, "migrate", "--noinput", "-v1")
    manage(env, "collectstatic", "--noinput", "-v0")
    if demo:
        manage(env, "seed_demo")


def _spawn(env: dict, argv: list[str]) -> subprocess.Popen:
    # Each in its own process group: the worker's and gunicorn's children are stopped with them.
    return subprocess.Popen(argv, cwd=REPO, env=env, start_new_session=True)


def start(env: dict) -> dict[str, subprocess.Popen]:
    children = {}
    if env.get("QBO_ENVIRONMENT", "emulator") == "emulator":
        emulator_port = urlparse(env.get("QBO_EMULATOR_URL", "http://127.0.0.1:8001")).port or 8001
        (REPO / "var").mkdir(exist_ok=True)
        webhook = f"http://127.0.0.1:{env['PORT']}/api/quickbooks/webhook"
        children["emulator"] = _spawn(
            env,
            [PY, "manage.py", "qbo_emulator", "--port", str(emulator_port), "--webhook-url", webhook]
            + ["--state-file", env.get("SERVE_EMULATOR_STATE") or "var/qbo-emulator-serve.json"],
        )
    children["worker"] = _spawn(env, [PY, "manage.py", "qbo_worker"])
    children["web"] = _spawn(env, [PY, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py"])
    return children


def stop(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for name, child in children.items():
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop within {STOP_GRACE:.0f} s; killing it")
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def run(children: dict[str, subprocess.Popen], stopping: list) -> int:
    try:
        while not stopping:
            ended = [name for name, child in children.items() if child.poll() is not None]
            if ended:
                say(f"{', '.join(ended)} stopped on its own (exit {children[ended[0]].returncode}); stopping the rest")
                return 1
            time.sleep(0.3)
        say("stopping")
        return 0
    finally:
        stop(children)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo data and logins")
    args = parser.parse_args()
    port = int(os.environ.get("PORT") or 8000)
    env = environment(port)
    prepare(env, demo=not args.no_demo)
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    children = start(env)
    say(
        f"Kadouri CRM (production profile: gunicorn, DEBUG off, PostgreSQL) at http://127.0.0.1:{port}/ — "
        f"health at /healthz; Ctrl-C stops it"
    )
    return run(children, stopping)


if __name__ == "__main__":
    sys.exit(main())
