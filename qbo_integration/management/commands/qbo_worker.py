"""The background worker: django-q2's cluster (`manage.py qcluster`) with a bounded stop.

On Ctrl-C or SIGTERM django-q2 stops gracefully but without a deadline: every worker finishes the task it holds,
then every task already handed to it, before it reads its stop pill. One slow task (a QuickBooks call against a
company that stopped answering, a bulk push pacing itself under QuickBooks' limits) keeps the whole cluster up for
minutes. Nothing Kadouri's tasks do depends on finishing: job rows are leased
and reclaimed when their worker dies (in doubt, looked up before any re-create), inbox leases expire, a dead
bulk push is resumed, and an unacknowledged django-q2 task is delivered again. So the stop gets a deadline:
the graceful stop first, then whatever is still running is killed.

Beside the cluster, a small thread looks for jobs whose retry is due every QBO_DUE_JOBS_POLL_SECONDS and hands
them to a worker at once: django-q2's scheduler looks only every 30 seconds, which made a click whose one attempt
met a passing failure wait up to half a minute for a retry due in one second.
"""

import logging
import os
import signal
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django_q.cluster import Cluster

from qbo_integration.outbox.jobs import due_jobs_waiting, enqueue_drain

log = logging.getLogger(__name__)


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (Linux /proc); children before their own children."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(0), [])
        found += children
        queue += children
    return found


class DueJobsPoller(threading.Thread):
    """Enqueues the drain when a job's retry is due. At most one drain per DRAIN_SPACING seconds, so busy
    workers are not buried under drains (a drain with nothing due costs one query)."""

    DRAIN_SPACING = 5.0

    def __init__(self, every: float):
        super().__init__(name="qbo-due-jobs", daemon=True)
        self.every, self.stopped, self.last_drain = every, threading.Event(), -self.DRAIN_SPACING

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.look()
            except Exception:  # the database restarting must not end the poller; the next look tries again
                log.exception("looking for due QuickBooks jobs failed")
            finally:
                close_old_connections()

    def look(self) -> bool:
        """One look: enqueues the drain when a retry is due (and none was enqueued just before)."""
        if time.monotonic() - self.last_drain < self.DRAIN_SPACING or not due_jobs_waiting():
            return False
        enqueue_drain()
        self.last_drain = time.monotonic()
        return True


class BoundedCluster(Cluster):
    def __init__(self, grace: float, poller: DueJobsPoller):
        super().__init__()
        self.grace, self.poller, self.stopping = grace, poller, False

    def sig_handler(self, signum, frame):
        if self.stopping:  # Ctrl-C reaches the whole group and run.sh sends TERM too: one stop is enough
            return
        self.stopping = True
        self.poller.stopped.set()
        if self.sentinel is None or not self.sentinel.is_alive() or self.stop_event is None:
            return
        log.info("worker stopping (at most %.0f s)", self.grace)
        # Not set() here: a SIGTERM sent to the whole group (systemd's stop, `kill -- -PGID`) also kills django-q2's
        # own processes, which take it with its default action; one killed while holding the event's shared lock
        # leaves set() blocked for ever. From a thread, the deadline below still holds.
        threading.Thread(target=self.stop_event.set, name="qbo-worker-stop", daemon=True).start()
        started = time.monotonic()
        self.sentinel.join(self.grace)
        if self.sentinel.is_alive():
            self._kill_the_rest(time.monotonic() - started)
        self.start_event = self.stop_event = None

    def _kill_the_rest(self, waited: float) -> None:
        busy = descendants(self.sentinel.pid)
        log.warning(
            "worker still busy %.1f s after the stop (tasks running or queued); killing %d process(es): "
            "unfinished work is picked up again after the restart",
            waited,
            len(busy) + 1,
        )
        for pid in [self.sentinel.pid, *busy]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.sentinel.join()


class Command(BaseCommand):
    help = (
        "Run the background worker (django-q2's cluster). Ctrl-C or SIGTERM stops it within "
        "QBO_WORKER_STOP_GRACE_SECONDS; whatever is still running then is killed and picked up again later."
    )

    def handle(self, *args, **options):
        poller = DueJobsPoller(every=settings.QBO_DUE_JOBS_POLL_SECONDS)
        BoundedCluster(grace=settings.QBO_WORKER_STOP_GRACE_SECONDS, poller=poller).start()
        poller.start()
