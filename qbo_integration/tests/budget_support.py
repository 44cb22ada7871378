"""The request budget's shared stores for the tests: a throwaway PostgreSQL database with the budget's table
(migration 0014's statements), a Redis namespace of its own, and `budget_client`, a second process that sends
requests through the same budget. PostgreSQL at DATABASE_URL's server (else 127.0.0.1:5432) and Redis at REDIS_URL
(else 127.0.0.1:6379), as CI has them."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from urllib.parse import urlparse

import psycopg
import redis

from qbo_integration.connection.budget.in_postgres import PostgresStore
from qbo_integration.connection.budget.in_redis import RedisStore

MIGRATION = importlib.import_module("qbo_integration.migrations.0014_shared_request_budget")
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


class ThrowawayDatabase:
    """A PostgreSQL database with nothing but the budget's table; dropped by `drop`."""

    def __init__(self) -> None:
        server = os.environ.get("DATABASE_URL", "")
        parsed = urlparse(server if server.startswith("postgres") else DEFAULT_SERVER)
        self.name = f"kadouri_budget_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.admin_url = parsed._replace(path="/postgres").geturl()
        self.url = parsed._replace(path=f"/{self.name}").geturl()
        self._admin(f"CREATE DATABASE {self.name}")
        with psycopg.connect(self.url, autocommit=True) as conn:
            for statement in MIGRATION.CREATE:
                conn.execute(statement)

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def make_store(kind: str, address: str):
    """A store as a new process would have it: its own connection (PostgreSQL) or client (Redis).
    `address`: the database URL, or the Redis key prefix."""
    if kind == "postgres":
        return PostgresStore(lambda: psycopg.connect(address, autocommit=True))
    return RedisStore(redis.from_url(redis_url()), prefix=address)


def run_client(spec: dict, *, wait: bool = True) -> dict | subprocess.Popen:
    """`budget_client` in a process of its own; its JSON answer (or the process, when not waited for)."""
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "kadouri.test_settings", "OAUTHLIB_INSECURE_TRANSPORT": "1"}
    argv = [sys.executable, "-m", "qbo_integration.tests.budget_client", json.dumps(spec)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return proc
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])
