"""The figures table the soak prints at the end, and its violations."""

from __future__ import annotations

import json
import os

from loadtest.soak.common import say


def print_figures(opts: dict, result: dict) -> None:
    w = say
    f = result.get("figures", {})
    run, emu = result.get("run", {}), result.get("emulator", {})
    t = result.get("timings", {})
    w("")
    w(
        f"Soak with faults — company {opts['company']}; {opts['orders']} orders, {opts['buyers']} buyers, "
        f"{opts['products']} products; "
        f"seed {result.get('seed')}; PostgreSQL, gunicorn {opts['web_workers']}×8 threads, "
        f"django-q2 {opts['q_workers']} workers, emulator, {os.cpu_count()} CPUs"
    )
    rows = [
        (
            "Timings (s)",
            f"setup {t.get('setup')} · run {t.get('run')} · settle {t.get('settle')} · check {t.get('check')} · total "
            f"{t.get('total')}",
        ),
        (
            "API pushes",
            f"{run.get('api_requests')} requests ({run.get('double_submits')} double submits) → "
            f"{run.get('api_statuses')}",
        ),
        (
            "UI bulk pushes",
            "; ".join(
                f"{p['when']}: #{p.get('bulk_id')} {p.get('final', p.get('state'))} "
                f"{p.get('pushed', '?')}/{p.get('of', '?')} in batches "
                f"({p.get('batched_share', 0):.0%}; resumed {p.get('resumes', 0)}×)"
                for p in run.get("ui_pushes", [])
            )
            or "-",
        ),
        ("Estimates converted", json.dumps(run.get("estimates"))),
        ("Worker kill", json.dumps(run.get("worker_kill"), default=str)),
        (
            "Faults injected",
            f"{emu.get('faults_total')} of {emu.get('fault_rules_saw')} API requests "
            f"({emu.get('fault_share', 0):.1%}): {emu.get('faults_fired')}; limiter 429s "
            f"{emu.get('limiter_throttled')}",
        ),
        ("Webhooks", f"{emu.get('webhook_events')} events; attempts {emu.get('webhook_attempts')}"),
        (
            "Bookkeeper",
            f"{run.get('bookkeeper_actions')} (plan {run.get('bookkeeper_plan')}; refused "
            f"{len(run.get('bookkeeper_refused', []))})",
        ),
        (
            "Money from Kadouri",
            "; ".join(
                f"{kind} {sum(statuses.values())} → {statuses}"
                for kind, statuses in run.get("money_answers", {}).items()
            )
            + f" (plan {run.get('money_plan')})",
        ),
        ("Money refused (most often)", json.dumps(run.get("money_refusals"), ensure_ascii=False)),
        ("Settle", json.dumps(run.get("settle"))),
    ]
    rows += [(name, value) for name, value in f.items()]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        w(f"  {name.ljust(width)}  {value}")
    violations = result.get("violations", [])
    w(f"Violations: {len(violations)}")
    for v in violations:
        w(f"  ✗ {v}")
