"""Two people click "Push all pending" at the same instant — on two app servers: one push starts, both follow it."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_q.conf import Conf

from qbo_integration.bulk.push import bulk_push_start
from qbo_integration.models import BulkPush


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_the_same_instant_start_one_push(qbo_connected, staff_user, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)  # the push waits in the queue, as with a worker elsewhere
    both = threading.Barrier(2)
    started: list[int] = []

    def click() -> None:
        try:
            both.wait(10)
            started.append(bulk_push_start(by=staff_user).pk)
        finally:
            connection.close()

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(30)

    assert BulkPush.objects.count() == 1
    assert started == [BulkPush.objects.get().pk] * 2
