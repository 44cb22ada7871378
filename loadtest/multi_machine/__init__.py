"""More than one machine (issue 14): Kadouri's promises hold with several web and worker hosts on one database.

    python -m loadtest.multi_machine [--orders 300] [--broker redis|orm] [--budget database|redis] [--json FILE]

Real processes, reusing the soak's harness (loadtest/soak/processes.py): a PostgreSQL database of its own, Redis,
the live emulator with QuickBooks' limits on (500 requests and 120 batch requests a minute, 10 in flight per
company), and two "machines", each a working directory of its own with an app server (gunicorn) and a django-q2
cluster, every process with the same settings (`--broker`: Q_BROKER; `--budget`: QBO_REQUEST_BUDGET) and its own
port. Webhooks go to each app server in turn. Then:

0. the admin chooses a bill to the seller for each invoiced order (the broker's own books), as in the soak;
1. both app servers get "Push all pending" clicked at the same moment while API clients on both push a share of
   the orders one by one, and a bookkeeper pays some invoices in QuickBooks (webhooks to both app servers);
2. the worker cluster that took the bulk push is SIGKILLed in the middle of it and stays dead;
3. nothing more is done: the other cluster must finish on its own (its schedules resume the push, retry the jobs
   the dead one held, process the inbox);
4. checks: the soak's (one QuickBooks document per order, one bill to the seller per order, orders equal
   QuickBooks, nothing stuck or failed, no secret in a log), plus: no request refused by the limits (no 429),
   the peaks the emulator admitted under each limit, webhooks delivered to both app servers, both clicks
   answered, every push done.

Prints figures (wall time, requests, peak in flight, most requests in any minute against the limits); exits 1 on
a violation. `make multi-machine`; `tests/soak/test_multi_machine.py` runs it in `make test` and CI.
"""
