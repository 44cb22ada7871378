"""The inbox pages: every stored webhook and catch-up event, one event's detail, and replay (admins)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_GET, require_POST

from ..context_processors import can_manage_quickbooks
from ..inbound import inbox as inbox_service
from ..models import QboWebhookEvent
from ..selectors.inbound import INBOX_FILTERS, failed_event_ids, inbox_events, inbox_filter_choices
from .access import managers_only

EVENTS_PER_PAGE = 50
REPLAY_MAX = 500


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    filters = {key: request.GET.get(key, "").strip()[:40] for key in INBOX_FILTERS}
    page = Paginator(inbox_events(**filters), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "qbo_integration/inbox.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "can_manage": can_manage_quickbooks(request.user),
        }
        | inbox_filter_choices(),
    )


@login_required
@require_GET
def inbox_event(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(QboWebhookEvent, pk=event_id)
    return render(
        request,
        "qbo_integration/inbox_event.html",
        {
            "event": event,
            "raw": json.dumps(event.raw, indent=2, sort_keys=True),
            "can_manage": can_manage_quickbooks(request.user),
        },
    )


@login_required
@require_POST
@managers_only("do this", back="qbo:inbox")
def inbox_replay(request: HttpRequest) -> HttpResponse:
    ids = [int(i) for i in request.POST.getlist("event") if i.isascii() and i.isdigit()][:REPLAY_MAX]
    if request.POST.get("all_failed"):
        ids = failed_event_ids(limit=REPLAY_MAX)
    if not ids:
        messages.error(request, "Select at least one event to replay.")
    else:
        count = inbox_service.inbox_replay(event_ids=ids, by=request.user)
        messages.success(
            request, f"{count} event{pluralize(count)} queued for replay; each is read again from QuickBooks."
        )
    return redirect(request.POST["next"]) if _safe_next(request) else redirect("qbo:inbox")


def _safe_next(request: HttpRequest) -> bool:
    target = request.POST.get("next", "")
    return target.startswith("/settings/") and "//" not in target
