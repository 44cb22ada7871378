"""More than one machine (issue 14): two app servers and two worker clusters on one PostgreSQL database and Redis,
the emulator with QuickBooks' limits on, 300 orders pushed from both app servers at once, webhooks to both, and
the worker cluster running the bulk push SIGKILLed mid-run; the other finishes alone. See loadtest/multi_machine/;
`make multi-machine` is the same run by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.soak

BASE_DIR = Path(settings.BASE_DIR)


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("multi-machine") / "figures.json"
    argv = [
        sys.executable,
        "-m",
        "loadtest.multi_machine",
        "--orders",
        "300",
        "--clients",
        "8",
        "--seed",
        os.environ.get("MULTI_MACHINE_SEED", "5"),
        "--broker",
        "redis",  # the soak runs the ORM broker
        "--budget",
        "database",
        "--database-url",
        _server_url(),
        "--json",
        str(out),
    ]
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "kadouri.test_settings"}
    done = subprocess.run(argv, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=480)
    print(done.stdout[-6000:])  # the figures, shown with -s or on failure
    print(done.stderr[-4000:], file=sys.stderr)
    assert out.exists(), f"the run stopped before its checks (exit {done.returncode}):\n{done.stderr[-3000:]}"
    figures = json.loads(out.read_text())
    figures["exit"] = done.returncode
    return figures


def test_every_order_is_in_quickbooks_exactly_once_and_nothing_is_lost(run):
    assert run["violations"] == [], "\n".join(run["violations"])
    assert run["exit"] == 0
    assert run["figures"]["One document per order"].startswith("300/300 orders have exactly one")
    assert run["figures"]["Broker bills"].startswith("300/300 orders that should have one have exactly one bill")
    states = run["figures"]["Sync jobs"].split("}")[0] + "}"
    # Every job done: each order's invoice job and at least one job of its bill to the seller.
    assert states.startswith("{'done': ") and "," not in states and int(states[9:-1]) >= 600


def test_quickbooks_limits_held_for_every_process_together(run):
    limits, config = run["emulator"]["limits"], run["emulator"]["limit_config"]
    assert (config["per_minute"], config["concurrent"], config["batch_per_minute"]) == (500, 10, 120)  # limits on
    assert limits["throttled"] == 0
    assert limits["max_concurrent"] <= 10 and limits["max_per_minute"] <= 500 and limits["max_batch_per_minute"] <= 120
    assert limits["requests"] >= 300


def test_both_app_servers_took_pushes_and_webhooks_and_one_cluster_was_killed(run):
    r = run["run"]
    assert len(r["api_by_server"]) == 2 and all(n > 0 for n in r["api_by_server"].values())
    assert sorted(p["server"] for p in r["ui_pushes"]) == [1, 2]
    delivered = [target for target in run["emulator"]["webhooks"] if target.startswith("delivered")]
    assert len(delivered) == 2
    assert r["kill"]["cluster"] in ("worker-1", "worker-2") and r["payments"] > 0


def test_it_fits_in_a_test_run(run):
    assert run["timings"]["total"] < 240
