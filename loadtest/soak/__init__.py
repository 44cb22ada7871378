"""Soak with faults (issue 7): the whole system keeps its promises together, under load and faults.

    python -m loadtest.soak [--orders 300 --buyers 40 --products 80] [--database-url postgres://…] [--json FILE]

Real processes, each a child with its own log: PostgreSQL (a database `kadouri_soak_<pid>` created on the
server of `--database-url`, dropped at the end), the app served by gunicorn, the django-q2 worker
(`manage.py qcluster`) and the QuickBooks emulator (`manage.py qbo_emulator`), all pointed at each other by
environment variables. The soak then:

1. seeds buyers, products and draft orders marked ready, and connects QuickBooks through the real OAuth flow
   (log in, /api/quickbooks/connect, the emulator's consent form, the callback);
2. turns on the emulator's faults — `--fault-rate` (20 %) of every Accounting API request answers 429, 500
   or 503, replies slowly (under and over the app's read timeout) or commits and then drops the connection —
   and webhook trouble: `--webhook-drop` (10 %) of deliveries lost, `--webhook-duplicate` sent twice, batches
   reordered;
3. pushes every order at once through the UI's "Push all pending" (a real form post, progress polled) and the
   JSON API (`--clients` threads, some double-submitting the same order); `--estimate-share` of the orders go as
   estimates instead and are converted to invoices moments later, into their own webhooks (the race that once
   linked an order to another order's invoice); meanwhile a bookkeeper records full and
   partial payments, voids invoices, deletes a few payments, renames customers, issues, applies, refunds and
   deletes credit memos, takes and voids sales receipts and pays some sellers' bills in the emulator (the admin
   chose, before the run, a bill to the seller for each invoiced order:
   docs/quickbooks/beyond.md#the-brokers-own-books); a cashier records money from Kadouri
   through the JSON API (payments, their deletion, cash sales, credits applied and refunded, double submits with
   the same Idempotency-Key; docs/quickbooks/money.md#the-soak); the
   worker is killed with SIGKILL in the middle of the bulk push and restarted, then "Push all pending" is
   clicked again;
4. stops the faults and lets the system settle: due sync jobs and inbox retries run (the worker's schedules
   run the same functions; the soak triggers them so it need not wait for the minute tick), and
   `manage.py qbo_catchup` runs CDC, until nothing is pending;
5. checks and prints figures: one QuickBooks document per order (by DocNumber, or by its marker where QuickBooks
   numbers documents, in the emulator's dump), no duplicate customers or items, every order's
   status/balance/payment status equal to QuickBooks', every bookkeeper change reflected, no job or inbox event
   stuck or failed, each UI push Done with at least 90 % of its orders sent in batch requests (a hiccup is
   resent as the same batch, a killed push resumed), each order's story in its activity log, and no secret
   (tokens from the database, the authorization code, client secret, verifier token, SECRET_KEY) in any process
   log; every Kadouri money job done exactly once in QuickBooks with the amount asked, and every order's paid,
   credited and open amounts equal QuickBooks' (`money_checks`); exactly one bill to the seller per home-currency
   order whose invoice stands, for its total less commission, deleted with its invoice unless the seller was paid,
   paid bills shown paid in Kadouri (`broker_checks`). Any violation → exit status 1.

Retry timing is compressed so the run fits in minutes (production keeps the defaults, see .env.example):
sync-job backoff base 2 s, a dead worker's job reclaimed after 20 s, a 429 pauses the company 2 s, inbox
backoff 2-32 s, inbox lease 20 s, QuickBooks read timeout 4 s.

The parts: `cli` (options, entry), `orchestrator` (the run in order), `processes` (the soak database, the
children, HTTP helpers, settling), `faults`, `workload` (API clients, "Push all pending", the worker kill),
`estimator`, `bookkeeper` (and `bookkeeper_money`), `money` (the cashier), `checks`, `money_checks` and
`figures` (the verdicts and the table), and `phases` (seed, tick and check, run as
`python -m loadtest.soak --phase …` inside the soak's environment).
"""
