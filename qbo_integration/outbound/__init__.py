"""Orders → QuickBooks, exactly once, under any failure: the status table, the requests a click makes, and the
runners that create, update, void and convert an order's document.

How "exactly once" holds (docs/quickbooks/lessons.md#exactly-once; no single layer is trusted on its own):

1. Per-order lock. A request locks the order row (`select_for_update`) to check the status table and to
   pick the job; an order has at most one active (pending or running) job at a time.
2. The job row (the outbox, `outbox/jobs.py`): a double click, a second staff member or a browser
   retry at the same version finds the same row, and one worker at a time holds its lease.
3. QuickBooks' `requestid` (docs/quickbooks/api.md#idempotent-writes-requestid): every write of a job carries the job's
   id, reused on every retry, so a replay after a dropped connection is answered from QuickBooks' cache instead of being
   run again.
4. DocNumber look-up (`adopt.py`; where QuickBooks numbers documents, the marker look-up:
   docs/quickbooks.md#quickbooks-numbers-the-documents). `requestid` has been reported not to dedupe
   (docs/quickbooks/lessons.md#duplicates-despite-requestid), and an earlier job (failed while in doubt, or from before
   an edit: the key holds the version) has another id, so before every create or convert the job looks for a document
   with the order's number (one query) and adopts it when customer and total match, or refuses when it does not. A 6140
   "Duplicate Doc Num" answer leads to the same look-up.

Failures: a click makes at most one attempt, without sleeping; transient failures (5xx, timeouts, dropped
connections) queue the job for the worker with exponential backoff (`outbox/retry.py`), and the order's panel
follows it. A 429 pauses the company (`connection/calls.py`) and queues the job until the pause ends. A stale
SyncToken (5010) is re-read and re-applied once. Validation and duplicates stop and say what to fix. An auth
failure stops and the banner asks an admin to reconnect. Every outcome writes an OrderActivity with QuickBooks'
error code in `details`.
"""
