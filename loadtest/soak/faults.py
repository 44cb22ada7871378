"""2. The emulator's faults: transient API failures and webhook trouble, on for the run phase, off to settle."""

from __future__ import annotations

from loadtest.soak.common import HTTP_TIMEOUT, say
from loadtest.soak.processes import Cluster

# Shares of the transient faults (they add up to --fault-rate of all Accounting API requests).
FAULT_MIX = (
    ("429", {}, 0.1),  # each one pauses the whole company (connection/calls.py), so fewer of them
    ("500", {}, 0.25),
    ("503", {}, 0.25),
    ("slow", {"delay": 1.5}, 0.15),  # slow but answered in time
    ("slow", {"delay": HTTP_TIMEOUT + 1.5}, 0.1),  # slower than the read timeout: committed, answer lost
    ("drop", {}, 0.15),  # committed, then the connection is closed without an answer
)


def fault_rates(total: float) -> list[tuple[str, dict, float]]:
    """Per-rule probabilities whose union is --fault-rate (the rules roll one after another)."""
    if total <= 0:
        return []
    weight = sum(w for _, _, w in FAULT_MIX)
    return [(kind, extra, 1 - (1 - total) ** (w / weight)) for kind, extra, w in FAULT_MIX]


def faults_on(cluster: Cluster, opts: dict) -> None:
    cluster.emu("POST", "clock/advance", json={"seconds": 0})
    for kind, extra, rate in fault_rates(opts["fault_rate"]):
        cluster.emu("POST", "faults", json={"kind": kind, "path": r"^/v3/company/", "rate": round(rate, 6), **extra})
    cluster.emu(
        "POST",
        "webhooks/config",
        json={
            "drop_rate": opts["webhook_drop"],
            "duplicate_rate": opts["webhook_duplicate"],
            "reorder": not opts["no_reorder"],
            "batch_window": 0.5,
        },
    )
    kinds = ", ".join(kind + (f" {extra['delay']:g}s" if "delay" in extra else "") for kind, extra, _ in FAULT_MIX)
    say(
        f"soak: faults on — {opts['fault_rate']:.0%} of API requests ({kinds}), "
        f"webhooks dropped {opts['webhook_drop']:.0%}, duplicated {opts['webhook_duplicate']:.0%}, "
        f"reordered {'yes' if not opts['no_reorder'] else 'no'}"
    )


def faults_off(cluster: Cluster) -> None:
    cluster.emu("DELETE", "faults")
    cluster.emu("POST", "webhooks/config", json={"drop_rate": 0, "duplicate_rate": 0, "reorder": False})
    say("soak: faults off; settling")


def emulator_figures(cluster: Cluster) -> dict:
    return {"faults": cluster.emu("GET", "faults")["faults"], "stats": cluster.emu("GET", "stats")}
