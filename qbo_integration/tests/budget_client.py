"""The other machine of test_request_budget.py: a process sending QuickBooks requests (CompanyInfo reads) to the
live emulator through a shared request budget, from a few threads at once. Prints one line of JSON.

    python -m qbo_integration.tests.budget_client '{"store": "postgres", "address": "...", "limits": {...},
        "emulator": "http://127.0.0.1:...", "realm": "...", "token": "...", "threads": 4, "requests": 10}'

With `"crash": true` it takes one place in the budget and is killed (SIGKILL) before giving it back.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

import django
from django.conf import settings

django.setup()

from qbo_integration.client import http  # noqa: E402  (after the set-up)
from qbo_integration.client.errors import QboThrottledError  # noqa: E402
from qbo_integration.connection import budget  # noqa: E402
from qbo_integration.tests.budget_support import make_store  # noqa: E402


def main() -> None:
    spec = json.loads(sys.argv[1])
    settings.QBO_EMULATOR_URL = spec["emulator"]
    store, limits = make_store(spec["store"], spec["address"]), budget.Limits(**spec["limits"])
    if spec.get("crash"):
        assert isinstance(store.take(spec["realm"], is_batch=False, limits=limits), budget.Grant)
        print(json.dumps({"took": 1}), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    def send(_) -> str:
        with budget.admitted(spec["realm"], store=store, limits=limits):
            try:
                http.send(
                    realm_id=spec["realm"],
                    access_token=spec["token"],
                    method="GET",
                    path=f"companyinfo/{spec['realm']}",
                )
            except QboThrottledError:
                return "throttled"
        return "ok"

    with ThreadPoolExecutor(spec["threads"]) as pool:
        outcomes = list(pool.map(send, range(spec["threads"] * spec["requests"])))
    print(json.dumps({"ok": outcomes.count("ok"), "throttled": outcomes.count("throttled")}))


main()
