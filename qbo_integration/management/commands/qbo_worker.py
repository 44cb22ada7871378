"""The background worker: django-q2's cluster (`manage.py qcluster`) with a bounded stop.

On Ctrl-C or SIGTERM django-q2 stops gracefully but without a deadline: every worker finishes the task it holds,
then every task already handed to it, before it reads its stop pill. One slow task (a QuickBooks call against a
company that stopped answering, a bulk push pacing itself under QuickBooks' limits) keeps the whole cluster up for
minutes. Nothing Kadouri's tasks do depends on finishing: job rows are leased
and reclaimed when their worker dies (in doubt, looked up before any re-create), inbox leases expire, a dead
bulk push is resumed, and an unacknowledged django-q2 task is delivered again. So the stop gets a deadline:
the graceful stop first, then whatever is still running is killed.
"""

import logging
import os
import signal
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.cluster import Cluster

from qbo_integration.health import heartbeat_schedule_ensure, heartbeat_send_now

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


class BoundedCluster(Cluster):
    def __init__(self, grace: float):
        super().__init__()
        self.grace, self.stopping = grace, False

    def sig_handler(self, signum, frame):
        if self.stopping:  # Ctrl-C reaches the whole group and run.sh sends TERM too: one stop is enough
            return
        self.stopping = True
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
        # The heartbeat /healthz reads: scheduled every minute, and one now so the worker is seen at once.
        heartbeat_schedule_ensure()
        heartbeat_send_now()
        BoundedCluster(grace=settings.QBO_WORKER_STOP_GRACE_SECONDS).start()
