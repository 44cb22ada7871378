"""The Settings page's "Changes from QuickBooks" card: starting a catch-up (admins) and the card's live part."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from kadouri.live import live_response

from ..context_processors import can_manage_quickbooks
from ..models import QboConnection
from ..selectors.inbound import INBOUND_CARD, settings_card_context
from .access import managers_only


@login_required
@require_POST
@managers_only("start a catch-up", back="qbo:settings")
def catchup_start(request: HttpRequest) -> HttpResponse:
    realms = list(QboConnection.objects.filter(state=QboConnection.State.CONNECTED).values_list("realm_id", flat=True))
    if not realms:
        messages.error(request, "QuickBooks is not connected; there is nothing to catch up.")
        return redirect("qbo:settings")
    full = request.POST.get("full") == "1"
    for realm_id in realms:
        async_task("qbo_integration.tasks.qbo_catchup_realm", realm_id, full, group="qbo-catchup")
    messages.success(
        request,
        "Catch-up started: Kadouri is asking QuickBooks what changed. "
        "“Changes from QuickBooks” below shows what it found as soon as it is done.",
    )
    return redirect("qbo:settings")


@login_required
@require_GET
def inbound_card(request: HttpRequest) -> HttpResponse:
    """The Settings page polls this: the "Changes from QuickBooks" card, once a catch-up or a webhook changed it."""
    card = settings_card_context() | {"can_manage": can_manage_quickbooks(request.user)}
    return live_response(request, INBOUND_CARD, card)
