"""The run in order: machines up, QuickBooks connected, the run, the surviving cluster finishing on its own, the
checks (the soak's, on the database and the emulator's books, and the limits at the emulator), the figures."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path

from loadtest.multi_machine.machines import Machines, budget_per_minute
from loadtest.multi_machine.workload import Record, Workload
from loadtest.soak.common import DEFAULT_SERVER, HarnessError, realm_of, say
from loadtest.soak.orchestrator import Soak
from loadtest.soak.processes import SoakDatabase

# QuickBooks' limits per company (docs/quickbooks/limits.md#request-limits), the emulator's defaults.
LIMITS = {"per_minute": 500, "batch_per_minute": 120, "concurrent": 10}
ACCEPTED_API_STATUSES = {200, 202, 409}  # done, left to the worker, already on its way (the bulk push has it)


class MultiMachine(Soak):
    def __init__(self, opts: dict) -> None:
        super().__init__(opts)
        self.cluster = Machines(opts, self.seed)

    def run(self) -> None:
        started = time.monotonic()
        result: dict = {}
        db = None
        machines = self.cluster
        try:
            server = self.opts["database_url"] or os.environ.get("DATABASE_URL", "")
            db = SoakDatabase(server if server.startswith("postgres") else DEFAULT_SERVER)
            say(f"multi-machine: seed {self.seed}, database {db.name}, logs {machines.logs}")
            seeded = self._set_up_machines(db)
            self.timings["setup"] = time.monotonic() - started
            self._connect()
            self._keep_broker_books()  # the soak's broker checks (reused below) prove a bill per order
            machines.emu("POST", "webhooks/config", json={"batch_window": 0.5})
            self._quickbooks_pace()
            mark = time.monotonic()
            record = Workload(machines, self.opts, self.run_state, seeded).run(mark + self.opts["run_timeout"])
            quiet = self._finish(mark + self.opts["run_timeout"])
            self.timings["run"] = time.monotonic() - mark
            mark = time.monotonic()
            result = self._check(record, quiet)
            self.timings["check"] = time.monotonic() - mark
        finally:
            machines.stop_all()
            machines.clear_redis()
            if db is not None and not self.opts["keep"]:
                db.drop()
            if not self.opts["keep"]:
                shutil.rmtree(machines.work, ignore_errors=True)
        self.timings["total"] = time.monotonic() - started
        result["timings"] = {k: round(v, 1) for k, v in self.timings.items()}
        print_figures(self.opts, result)
        if self.opts["json"]:
            Path(self.opts["json"]).write_text(json.dumps(result, indent=1, default=str))
        if result.get("violations"):
            raise HarnessError(f"multi-machine: {len(result['violations'])} violation(s); see above.")

    def _set_up_machines(self, db: SoakDatabase) -> dict:
        machines = self.cluster
        machines.prepare(db)
        machines.manage("migrate", "--noinput", log="migrate")
        seeded = machines.phase("seed")
        say(f"multi-machine: seeded {len(seeded['orders'])} orders, {len(seeded['buyers'])} buyers")
        machines.start()
        return seeded

    def _quickbooks_pace(self) -> None:
        """Answers take as long as over the internet (so requests overlap and fill the slots), and a per-minute
        limit other than QuickBooks' when asked."""
        machines = self.cluster
        for method, delay in (("GET", self.opts["read_latency"]), ("POST", self.opts["write_latency"])):
            if delay:
                slow = {"kind": "slow", "method": method, "path": r"^/v3/company/", "rate": 1.0, "delay": delay}
                machines.emu("POST", "faults", json=slow)
        machines.emu("POST", "limits", json={"per_minute": self.opts["per_minute"]})

    def _finish(self, deadline: float) -> bool:
        """Waits, doing nothing, until the surviving cluster has finished: no job, push or inbox event left, no
        webhook undelivered, every payment the bookkeeper made reflected."""
        db, paid = self.cluster.db, {a["invoice_id"] for a in self.run_state.actions}
        while time.monotonic() < deadline:
            busy = db.scalar(
                "SELECT (SELECT COUNT(*) FROM quickbooks_sync_jobs WHERE state IN ('pending', 'running'))"
                " + (SELECT COUNT(*) FROM quickbooks_bulk_pushes WHERE state IN ('queued', 'running'))"
                " + (SELECT COUNT(*) FROM quickbooks_webhook_events WHERE status IN ('pending', 'processing'))"
            )
            reflected = db.scalar(
                "SELECT COUNT(*) FROM orders WHERE status = 'paid' AND qbo_doc_id = ANY(%s)", list(paid)
            )
            undelivered = len(self.cluster.emu("GET", "webhooks")["pending"])
            if not busy and not undelivered and reflected == len(paid):
                return True
            time.sleep(1)
        return False

    def _check(self, record: Record, quiet: bool) -> dict:
        machines, realm = self.cluster, realm_of(self.opts)
        stats = machines.emu("GET", "stats")
        sent = Counter(
            r["subpath"].split("/")[0] for r in machines.emu("GET", "requests")["requests"] if r.get("subpath")
        )
        hooks = machines.emu("GET", "webhooks")["history"]
        machines.emu("POST", "webhooks/config", json={"urls": []})  # nothing more arrives while the logs are read
        (machines.work / "dump.json").write_text(json.dumps(machines.emu("GET", f"companies/{realm}")))
        with self.run_state.lock:
            (machines.work / "actions.json").write_text(json.dumps(self.run_state.actions))
        (machines.work / "money.json").write_text(json.dumps({"cash_ids": []}))
        secrets_file = machines.work / "secrets.json"
        secrets_file.write_text(json.dumps({"authorization code": self.run_state.auth_code}))
        secrets_file.chmod(0o600)
        bulks = machines.db.rows("SELECT id, state, total, succeeded, failed, resumes FROM quickbooks_bulk_pushes")
        machines.stop_all()  # logs complete before they are searched
        result = machines.phase("check")
        limits = stats["limits"].get(realm, {})
        result["run"] = {
            "ui_pushes": record.ui_pushes,
            "bulk_pushes": bulks,
            "api_statuses": dict(sorted(record.api_statuses.items())),
            "api_by_server": dict(record.api_by_server),
            "api_errors": record.api_errors[:10],
            "kill": record.kill,
            "payments": len(self.run_state.actions),
            "quiet": quiet,
        }
        result["emulator"] = {
            "limits": limits,
            "limit_config": stats["limit_config"],
            "requests": stats["requests"],
            "requests_by_kind": dict(sent.most_common()),
            "webhooks": dict(Counter(f"{h['outcome']} → {h['url']}" for h in hooks)),
        }
        result["violations"] += _verdicts(result, hooks, machines.app_urls)
        return result


def _verdicts(result: dict, hooks: list[dict], app_urls: list[str]) -> list[str]:
    run, limits = result["run"], result["emulator"]["limits"]
    found = []
    if limits.get("throttled"):
        found.append(f"QuickBooks (the emulator) refused {limits['throttled']} requests over its limits (429)")
    for name, limit in LIMITS.items():
        peak = limits.get(f"max_{name}", 0)
        if peak > limit:
            found.append(f"{peak} {name.replace('_', ' ')} at the emulator, over its limit of {limit}")
    for url in app_urls:
        if not any(h["outcome"] == "delivered" and h["url"].startswith(url) for h in hooks):
            found.append(f"no webhook was delivered to the app server at {url}")
    if any(h["outcome"] == "failed" for h in hooks):
        found.append(f"{sum(h['outcome'] == 'failed' for h in hooks)} webhook deliveries failed")
    unexpected = {s: n for s, n in run["api_statuses"].items() if s not in ACCEPTED_API_STATUSES}
    if unexpected or run["api_errors"]:
        found.append(f"API answers other than {sorted(ACCEPTED_API_STATUSES)}: {unexpected} {run['api_errors'][:3]}")
    if len(run["ui_pushes"]) != 2 or any(p["http"] != 200 for p in run["ui_pushes"]):
        found.append(f"the two clicks on Push all pending were not both answered: {run['ui_pushes']}")
    if any(state != "done" or failed for _, state, _, _, failed, _ in run["bulk_pushes"]):
        found.append(f"a bulk push did not end done without failures: {run['bulk_pushes']}")
    if not run["kill"]:
        found.append("no worker cluster was killed")
    if not run["quiet"]:
        found.append("the surviving cluster did not finish before --run-timeout")
    return found


def print_figures(opts: dict, result: dict) -> None:
    run, emu, t = result.get("run", {}), result.get("emulator", {}), result.get("timings", {})
    limits, config = emu.get("limits", {}), emu.get("limit_config", {})
    budget = {"per_minute": budget_per_minute(opts), "batch_per_minute": 110, "concurrent": 8}
    say("")
    say(
        f"Multi-machine run — {opts['orders']} orders; 2 app servers (gunicorn {opts['web_workers']}×8 threads) and "
        f"2 worker clusters ({opts['q_workers']} workers each), Q_BROKER={opts['broker']}, "
        f"QBO_REQUEST_BUDGET={opts['budget']}, PostgreSQL, Redis, the emulator with its limits on; "
        f"{os.cpu_count()} CPUs"
    )
    rows = [
        ("Wall time (s)", f"run {t.get('run')} (clicks to the last webhook applied) · total {t.get('total')}"),
        (
            "QuickBooks requests",
            f"{limits.get('requests')} ({limits.get('batch_requests')} batch; by kind {emu.get('requests_by_kind')})",
        ),
        (
            "Peak in flight",
            f"{limits.get('max_concurrent')} (limit {config.get('concurrent')}, budget {budget['concurrent']})",
        ),
        (
            "Most in any minute",
            f"{limits.get('max_per_minute')} requests (limit {config.get('per_minute')}, budget "
            f"{budget['per_minute']}); {limits.get('max_batch_per_minute')} batch (limit "
            f"{config.get('batch_per_minute')}, budget {budget['batch_per_minute']})",
        ),
        ("Refused by the limits (429)", f"{limits.get('throttled')}"),
        ("Clicks on Push all pending", json.dumps(run.get("ui_pushes"))),
        ("Bulk pushes (id, state, total, ok, failed, resumes)", json.dumps(run.get("bulk_pushes"))),
        ("API pushes", f"{run.get('api_statuses')} by server {run.get('api_by_server')}"),
        ("Worker cluster killed", json.dumps(run.get("kill"), default=str)),
        ("Webhooks", json.dumps(emu.get("webhooks"))),
        ("Payments in QuickBooks", f"{run.get('payments')}"),
    ]
    rows += list(result.get("figures", {}).items())
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        say(f"  {name.ljust(width)}  {value}")
    violations = result.get("violations", [])
    say(f"Violations: {len(violations)}")
    for violation in violations:
        say(f"  ✗ {violation}")
