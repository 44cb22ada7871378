"""The soak's processes: its own PostgreSQL database, the children (emulator, gunicorn, worker), the phases run
in their environment, HTTP helpers, and settling once the faults stop."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import requests
from cryptography.fernet import Fernet

from loadtest.soak.common import BASE_DIR, COMPRESSED_TIMING, HarnessError, free_port, say

THROTTLED_CATCH_UP_WAIT = 3.0  # seconds: past the soak's compressed 429 pause (QBO_THROTTLE_PAUSE_SECONDS)


class SoakDatabase:
    """The soak's own PostgreSQL database, polled with psycopg (the app runs in the children)."""

    def __init__(self, server_url: str) -> None:
        parsed = urlparse(server_url)
        if not parsed.scheme.startswith("postgres"):
            raise HarnessError(f"--database-url must be a PostgreSQL URL, not {parsed.scheme or server_url!r}.")
        self.name = f"kadouri_soak_{os.getpid()}"
        self.admin_url = parsed._replace(path="/postgres").geturl()
        self.url = parsed._replace(path=f"/{self.name}").geturl()
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.name}")

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def rows(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.url, connect_timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params):
        rows = self.rows(sql, *params)
        return rows[0][0] if rows else None

    def drop(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


@dataclass
class Child:
    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen | None = None
    stopped: bool = False  # never signal a group twice: its id could belong to someone else by then


class Cluster:
    """The children, each with its own log in the work directory, all pointed at each other by environment."""

    def __init__(self, opts: dict, seed: int) -> None:
        self.opts, self.seed = opts, seed
        self.work = Path(tempfile.mkdtemp(prefix="kadouri-soak-"))
        self.logs = self.work / "logs"
        self.logs.mkdir()
        self.children: dict[str, Child] = {}
        self.db: SoakDatabase | None = None
        self.settle_figures: dict = {}

    # ---- set-up -----------------------------------------------------------------------------------

    def prepare(self, db: SoakDatabase) -> None:
        """Ports, secrets and the children's environment (nothing runs yet)."""
        self.db = db
        self.app_port, self.emu_port = free_port(), free_port()
        self.app_url, self.emu_url = f"http://127.0.0.1:{self.app_port}", f"http://127.0.0.1:{self.emu_port}"
        self.secrets = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "QBO_CLIENT_SECRET": "soak-secret-" + secrets.token_urlsafe(24),
            "QBO_WEBHOOK_VERIFIER_TOKEN": "soak-verifier-" + secrets.token_urlsafe(24),
        }
        self.password = secrets.token_urlsafe(16)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("QBO_", "DJANGO_", "DATABASE_", "Q_", "SECURE_", "SESSION_", "CSRF_"))
        }
        env |= {
            "DJANGO_SETTINGS_MODULE": "kadouri.test_settings",
            "DATABASE_URL": self.db.url,
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "Q_SYNC": "false",
            "Q_WORKERS": str(self.opts["q_workers"]),
            "LOG_LEVEL": "INFO",
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
            "PYTHONUNBUFFERED": "1",
            # The web server and the worker are two processes: they share the company's request budget.
            "QBO_REQUEST_BUDGET": "database",
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": self.emu_url,
            "QBO_CLIENT_ID": "soak-client",
            "QBO_REDIRECT_URI": f"{self.app_url}/api/quickbooks/callback",
            "QBO_TOKEN_KEYS": Fernet.generate_key().decode(),
            "SOAK_PASSWORD": self.password,
            **self.secrets,
            **COMPRESSED_TIMING,
        }
        self.env = env

    def start(self) -> None:
        self.spawn("emulator", self.emulator_argv([self.app_url]))
        self.spawn("gunicorn", self.gunicorn_argv(self.app_port))
        self.spawn("worker", [sys.executable, "manage.py", "qcluster"])
        self.wait_up(f"{self.emu_url}/_emulator/api/clock", "emulator")
        self.wait_up(f"{self.app_url}/login/", "app")

    def emulator_argv(self, app_urls: list[str]) -> list[str]:
        """The emulator, delivering webhooks to each app server in turn. The client secret and verifier token reach
        it by environment, never on a command line."""
        hooks = [arg for url in app_urls for arg in ("--webhook-url", f"{url}/api/quickbooks/webhook")]
        return [
            sys.executable,
            str(BASE_DIR / "manage.py"),
            "qbo_emulator",
            "--port",
            str(self.emu_port),
            "--client-id",
            "soak-client",
            "--redirect-uri",
            f"{self.app_url}/api/quickbooks/callback",
            *hooks,
            "--seed",
            str(self.seed),
        ]

    def gunicorn_argv(self, port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "kadouri.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(self.opts["web_workers"]),
            "-k",
            "gthread",
            "--threads",
            "8",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--log-level",
            "info",
        ]

    # ---- commands run to completion ------------------------------------------------------------------

    def _catch_up(self) -> bool:
        """One `manage.py qbo_catchup`; False when QuickBooks throttled it. The settle phase's own drains read
        hundreds of documents a minute and can reach the emulator's per-minute limit; the product then keeps its
        watermark and its next run retries (what the scheduled catch-up does), so the soak waits and runs it again.
        Any other failure stops the soak."""
        try:
            self.manage("qbo_catchup", log="catchup")
        except HarnessError as e:
            if "(QuickBooks error 3001)" not in str(e):
                raise
            say("soak: the catch-up was throttled (429, QuickBooks error 3001); waiting, then running it again")
            return False
        return True

    def manage(self, *args: str, log: str, timeout: float = 600) -> str:
        return self._run_logged(["manage.py", *args], log=log, timeout=timeout)

    def phase(self, phase: str, **extra) -> dict:
        args = [
            "--phase",
            phase,
            "--work-dir",
            str(self.work),
            "--seed",
            str(self.seed),
            "--orders",
            str(self.opts["orders"]),
            "--buyers",
            str(self.opts["buyers"]),
            "--products",
            str(self.opts["products"]),
            "--sellers",
            str(self.opts["sellers"]),
            "--estimate-share",
            str(self.opts["estimate_share"]),
            "--cash-share",
            str(self.opts["cash_share"]),
            "--company",
            self.opts["company"],
        ]
        out = self._run_logged(["-m", "loadtest.soak", *args], log=f"phase-{phase}")
        line = next((line for line in out.splitlines() if line.startswith("SOAK-JSON ")), None)
        if line is None:
            raise HarnessError(f"soak phase {phase} printed no result")
        return json.loads(line.split(" ", 1)[1])

    def _run_logged(self, args: list[str], *, log: str, timeout: float = 600) -> str:
        path = self.logs / f"{log}.log"
        with path.open("a") as out:
            result = subprocess.run(
                [sys.executable, *args],
                cwd=BASE_DIR,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=out,
                text=True,
                timeout=timeout,
            )
            out.write(result.stdout)
        if result.returncode:
            shown = " ".join(["python", *args] if args[0] == "-m" else args)
            raise HarnessError(f"{shown} failed (exit {result.returncode}); see {path}:\n" + path.read_text()[-3000:])
        return result.stdout

    # ---- children -------------------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], *, cwd: Path = BASE_DIR, env: dict | None = None) -> Child:
        """Starts a child in `cwd` with `env` (by default the project's directory and the cluster's environment)."""
        count = sum(1 for key in self.children if key.startswith(name))
        log = self.logs / (f"{name}.log" if not count else f"{name}-{count + 1}.log")
        child = Child(name, argv, log)
        child.proc = subprocess.Popen(
            argv, cwd=cwd, env=env or self.env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )  # its own process group: qcluster forks workers
        self.children[name if not count else f"{name}-{count + 1}"] = child
        self.children[name] = child
        return child

    def wait_up(self, url: str, what: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise HarnessError(f"the {what} did not come up within 60 s")

    def signal(self, child: Child, sig: int) -> None:
        if child.proc is None:
            return
        try:
            os.killpg(child.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, child: Child) -> None:
        if child.proc is None or child.stopped:
            return
        child.stopped = True
        if child.proc.poll() is None:
            self.signal(child, signal.SIGTERM)
            try:
                child.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                pass
        self.signal(child, signal.SIGKILL)  # stragglers of its group (qcluster's workers), if any
        if child.proc.poll() is None:
            child.proc.wait(timeout=10)

    def stop_all(self) -> None:
        live = [self.children[name] for name in ("worker", "gunicorn", "emulator") if name in self.children]
        with ThreadPoolExecutor(len(live) or 1) as pool:  # in parallel: qcluster takes a few seconds to stop
            list(pool.map(self.stop, live))

    # ---- HTTP helpers -------------------------------------------------------------------------------

    def session(self, username: str, app_url: str = "") -> requests.Session:
        """Logged in as `username` on the app server at `app_url` (the cluster's by default)."""
        app_url = app_url or self.app_url
        session = requests.Session()
        session.get(f"{app_url}/login/", timeout=10)
        answer = session.post(
            f"{app_url}/login/",
            data={"username": username, "password": self.password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            timeout=10,
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise HarnessError(f"log-in as {username} failed: HTTP {answer.status_code}")
        return session

    def emu(self, method: str, path: str, **kwargs):
        answer = requests.request(method, f"{self.emu_url}/_emulator/api/{path}", timeout=30, **kwargs)
        if answer.status_code != 200:
            raise RuntimeError(f"emulator {method} {path}: HTTP {answer.status_code} {answer.text[:300]}")
        return answer.json()

    # ---- 4. settle ----------------------------------------------------------------------------------------

    def settle(self) -> None:
        deadline = time.monotonic() + self.opts["settle_timeout"]
        catchups, quiet_checks, ticks, throttled = 0, 0, 0, 0
        while time.monotonic() < deadline:
            self.emu("POST", "webhooks/flush", json={"force": True})
            tick = self.phase("tick")
            ticks += 1
            webhooks_pending = len(self.emu("GET", "webhooks")["pending"])
            busy = tick["jobs_active"] + tick["inbox_pending"] + tick["bulk_active"] + webhooks_pending
            if busy:
                quiet_checks = 0
                time.sleep(min(max(tick.get("next_due_in", 1.0), 0.5), 5))
                continue
            # Nothing pending: catch up with QuickBooks (what webhooks lost), then look again.
            if not self._catch_up():
                throttled += 1
                quiet_checks = 0
                time.sleep(THROTTLED_CATCH_UP_WAIT)
                continue
            catchups += 1
            quiet_checks += 1
            if quiet_checks >= 2:
                break
        self.settle_figures = {"ticks": ticks, "catchups": catchups, "throttled": throttled, "quiet": quiet_checks >= 2}
        say(
            f"soak: settled={'yes' if quiet_checks >= 2 else 'NO (timeout)'} after {ticks} drain ticks and "
            f"{catchups} catch-up runs"
        )
