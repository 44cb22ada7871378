"""django-q2 entry points: thin wrappers that call services."""

import logging
from datetime import timedelta

from django.utils import timezone

from . import client
from .models import QboConnection

log = logging.getLogger(__name__)

# Refreshing daily keeps the 100-day rolling refresh token alive on a quiet installation (§6.5).
PROACTIVE_REFRESH_AFTER = timedelta(hours=20)


def refresh_tokens_proactively() -> int:
    refreshed = 0
    cutoff = timezone.now() - PROACTIVE_REFRESH_AFTER
    for conn in QboConnection.objects.filter(state=QboConnection.State.CONNECTED):
        last = conn.last_refreshed_at or conn.connected_at
        if last and last > cutoff and not client.needs_refresh(conn):
            continue
        try:
            client.refresh_connection(conn.pk, force=True)
            refreshed += 1
        except client.QboError as e:
            log.warning("proactive refresh failed for realm %s: %s", conn.realm_id, e.kind)
    return refreshed
