"""The machines: two app servers (gunicorn) and two django-q2 clusters on one PostgreSQL database and one Redis,
each pair in a working directory of its own as if on its own host, plus the live emulator with its limits on."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from loadtest.soak.common import BASE_DIR, free_port
from loadtest.soak.processes import Cluster, SoakDatabase

MACHINES = ("a", "b")
# What django-q2 (its queue) and the request budget keep in Redis, cleared before and after a run.
REDIS_KEYS = ("django_q:*", "kadouri:qbo-budget:*")


class Machines(Cluster):
    """Machine `a` runs app server 1 and worker cluster 1, machine `b` app server 2 and worker cluster 2. Every
    process has the same settings but its own port, working directory and log; both clusters serve one queue."""

    def prepare(self, db: SoakDatabase) -> None:
        super().prepare(db)
        self.app_urls = [self.app_url, f"http://127.0.0.1:{free_port()}"]  # machine a's is the soak's app_url
        self.homes = {name: self.work / f"machine-{name}" for name in MACHINES}
        for home in self.homes.values():
            home.mkdir()
        self.redis_url = self.opts["redis_url"]
        self.env |= {
            "PYTHONPATH": str(BASE_DIR),  # run from another directory, as from another host's checkout
            "Q_BROKER": self.opts["broker"],
            "REDIS_URL": self.redis_url,
            "QBO_REQUEST_BUDGET": self.opts["budget"],
        }
        self.env["QBO_BUDGET_PER_MINUTE"] = str(budget_per_minute(self.opts))
        self.clear_redis()

    def start(self) -> None:
        self.spawn("emulator", self.emulator_argv(self.app_urls), cwd=self.work)
        for n, (name, url) in enumerate(zip(MACHINES, self.app_urls, strict=True), start=1):
            self.spawn(f"app-{n}", self.gunicorn_argv(int(url.rsplit(":", 1)[1])), cwd=self.homes[name])
            self.spawn(f"worker-{n}", [sys.executable, str(BASE_DIR / "manage.py"), "qcluster"], cwd=self.homes[name])
        self.wait_up(f"{self.emu_url}/_emulator/api/clock", "emulator")
        for url in self.app_urls:
            self.wait_up(f"{url}/login/", f"app server {url}")

    def stop_all(self) -> None:
        children = list({id(child): child for child in self.children.values()}.values())
        with ThreadPoolExecutor(len(children) or 1) as pool:  # in parallel: a cluster takes seconds to stop
            list(pool.map(self.stop, children))

    def log_of(self, name: str) -> str:
        path: Path = self.children[name].log
        return path.read_text(errors="replace") if path.exists() else ""

    def clear_redis(self) -> None:
        client = redis.from_url(self.redis_url)
        for pattern in REDIS_KEYS:
            keys = list(client.scan_iter(match=pattern))
            if keys:
                client.delete(*keys)


def budget_per_minute(opts: dict) -> int:
    """The app's budget a minute: 480 under QuickBooks' 500, and in the same proportion under a tighter emulator."""
    return opts["per_minute"] * 96 // 100


def default_redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
