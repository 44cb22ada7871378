"""The webhook benchmark's plumbing: a throw-away database it can poll without Django (the app runs in the
children), its child processes, and small helpers. Only loopback addresses; every wait is bounded."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import requests
from django.conf import settings
from django.utils.dateparse import parse_datetime

BASE_DIR = Path(settings.BASE_DIR)


class BenchError(Exception):
    """A step of the benchmark failed (a child did not start, a command exited non-zero)."""


class Database:
    """A throw-away database and a way to poll it without Django (the app runs in the children)."""

    def __init__(self, url: str | None, tmp: Path) -> None:
        self.admin_url = None
        if url and url.startswith("postgres"):
            parsed = urlparse(url)
            self.name = f"kadouri_bench_{os.getpid()}"
            self.admin_url = parsed._replace(path="/postgres").geturl()
            self.url = parsed._replace(path=f"/{self.name}").geturl()
            self._pg("CREATE DATABASE " + self.name)
        else:
            self.path = tmp / "bench.sqlite3"
            self.url = f"sqlite:///{self.path}"

    @property
    def backend(self) -> str:
        return "PostgreSQL" if self.admin_url else "SQLite"

    def _pg(self, sql: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def rows(self, sql: str, *params) -> list:
        if self.admin_url:
            with psycopg.connect(self.url) as conn:
                return conn.execute(sql.replace("?", "%s"), params).fetchall()
        with sqlite3.connect(self.path, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params):
        return self.rows(sql, *params)[0][0]

    def drop(self) -> None:
        if self.admin_url:
            self._pg(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class Children:
    """The benchmark's child processes (gunicorn, the worker), each leading its own process group."""

    def __init__(self, env: dict, tmp: Path) -> None:
        self.env, self.tmp, self.running = env, tmp, []

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, *args], cwd=BASE_DIR, env=self.env, capture_output=True, text=True, timeout=600
        )
        if result.returncode:
            shown = " ".join(["python", *args] if args[0] == "-m" else args)
            raise BenchError(f"{shown} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("w")
        child = subprocess.Popen(
            argv, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running.append(child)
        return child

    def gunicorn(self, port: int, workers: int) -> None:
        argv = [str(BASE_DIR / ".venv/bin/gunicorn"), "kadouri.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
        self.spawn("gunicorn", [*argv, "--log-level", "warning"])

    def worker(self) -> None:
        self.spawn("qcluster", [sys.executable, "manage.py", "qcluster"])

    def stop(self) -> None:
        for child in reversed(self.running):  # qcluster forks workers: the whole group goes
            _signal_group(child, signal.SIGTERM)
        for child in self.running:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
        time.sleep(0.5)
        for child in self.running:
            _signal_group(child, signal.SIGKILL)  # stragglers of the group, if any


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.post(url, data=b"", timeout=1).status_code == 401:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise BenchError("gunicorn did not come up within 30 s")


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def seconds(value) -> float:
    """A timestamp the database answered (a datetime on PostgreSQL, text on SQLite) as epoch seconds."""
    moment = value if hasattr(value, "timestamp") else parse_datetime(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()  # SQLite keeps UTC, naive
