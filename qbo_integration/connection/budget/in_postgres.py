"""The budget counted in PostgreSQL, shared by every process on every machine that uses the database: one row per
admitted request in `quickbooks_request_budget` (an unlogged table: a budget is worth nothing after a crash;
migration 0014), read and written under a per-company advisory lock, on the database's clock.

A request's row holds its admission time (for the windows) and `held_until`, the end of its slot: set to 0 on
release, and a crashed holder's slot simply expires. Rows out of the window and out of flight are deleted on the
way, so a company keeps at most a minute's worth (the per-minute limit) plus its slots.

Each process keeps one connection of its own (autocommit, outside Django's: a request made inside someone's
transaction must still count for everyone at once), and asks in pipeline mode: two round trips to be admitted
(lock and tally; then the row and the commit), one to release.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from .limits import Grant, Limits, StoreUnavailable, Tally, Wait, Window, wait_seconds

TABLE = "quickbooks_request_budget"
LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
TALLY = f"""
WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now)
SELECT clock.now,
       (SELECT count(*) FROM {TABLE} h
        WHERE h.realm_id = %(realm)s AND h.held_until > 0 AND h.held_until > clock.now),
       recent.*
FROM clock, LATERAL (
    SELECT count(*), min(b.sent_at),
           count(*) FILTER (WHERE b.is_batch), min(b.sent_at) FILTER (WHERE b.is_batch),
           count(*) FILTER (WHERE b.sent_at > clock.now - 1), min(b.sent_at) FILTER (WHERE b.sent_at > clock.now - 1)
    FROM {TABLE} b WHERE b.realm_id = %(realm)s AND b.sent_at > clock.now - %(window)s
) recent
"""
# Gone from every window and given back (or expired).
PRUNE = f"""
DELETE FROM {TABLE} WHERE realm_id = %(realm)s AND sent_at <= %(now)s - %(window)s AND held_until <= %(now)s
"""
ADMIT = f"""
INSERT INTO {TABLE} (realm_id, sent_at, is_batch, held_until)
VALUES (%(realm)s, %(now)s, %(batch)s, %(now)s + %(hold)s) RETURNING id
"""
RELEASE = f"UPDATE {TABLE} SET held_until = 0 WHERE id = %s"


class PostgresStore:
    def __init__(self, connect: Callable[[], psycopg.Connection]) -> None:
        self._connect = connect  # a new autocommit connection
        self._lock = threading.Lock()  # one connection per process, one question at a time
        self._conn: psycopg.Connection | None = None
        self._pid = 0

    def take(self, realm_id: str, *, is_batch: bool, limits: Limits) -> Grant | Wait:
        values = {"realm": realm_id, "window": limits.window}
        with self._lock, self._asking() as conn:
            with conn.pipeline(), conn.transaction():
                conn.execute(LOCK, (f"{TABLE}:{realm_id}",))
                tally = _tally(conn.execute(TALLY, values).fetchone())  # first round trip
                values |= {"now": tally.now, "batch": is_batch, "hold": limits.hold}
                conn.execute(PRUNE, values)
                wait = wait_seconds(tally, is_batch=is_batch, limits=limits)
                if wait:
                    return Wait(wait)
                admitted = conn.execute(ADMIT, values)
            token = admitted.fetchone()[0]  # read once the commit went with it, in the second round trip
        return Grant(realm_id, str(token))

    def release(self, grant: Grant) -> None:
        with self._lock, self._asking() as conn:
            conn.execute(RELEASE, (int(grant.token),))

    def clear(self) -> None:
        with self._lock, self._asking() as conn:
            conn.execute(f"DELETE FROM {TABLE}")

    def close(self) -> None:
        with self._lock:
            self._drop()

    @contextmanager
    def _asking(self) -> Iterator[psycopg.Connection]:
        try:
            yield self._connection()
        except psycopg.Error as e:
            self._drop()
            raise StoreUnavailable(e.__class__.__name__) from None

    def _connection(self) -> psycopg.Connection:
        if self._pid != os.getpid():  # a forked child never uses its parent's socket
            self._conn, self._pid = None, os.getpid()
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass


def _tally(row: tuple) -> Tally:
    now, in_flight, minute, minute_oldest, batch, batch_oldest, second, second_oldest = row
    return Tally(
        now=now,
        in_flight=in_flight,
        minute=Window(minute, minute_oldest),
        batch=Window(batch, batch_oldest),
        second=Window(second, second_oldest),
    )
