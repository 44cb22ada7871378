"""`POST /api/quickbooks/webhook` and the operator pages for the inbox, catch-up and reconciliation."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from kadouri.live import live_response, render_live
from orders.models import Order

from .. import catchup, handlers, inbound, reconcile
from ..context_processors import can_manage_quickbooks
from ..models import QboCatchUp, QboConnection, QboWebhookCounter, QboWebhookEvent, SyncConflict

log = logging.getLogger(__name__)

EVENTS_PER_PAGE = 50
RECONCILE_REPORT = "qbo_integration/_reconcile_report.html"
INBOUND_CARD = "qbo_integration/_inbound_card.html"
REPLAY_MAX = 500


# --- the endpoint -----------------------------------------------------------------------------------

def _refuse(status: int, counter: str, detail: str) -> HttpResponse:
    inbound.rejection_count(name=counter, detail=detail)
    log.warning("quickbooks webhook refused (%s %s): %s", status, counter, detail)
    return HttpResponse(status=status)


@csrf_exempt
@require_POST
@sensitive_variables("token")
def webhook(request: HttpRequest) -> HttpResponse:
    """Intuit's doorbell: verify, store, enqueue, answer 200 — no QuickBooks call in here (qbo-api.md §7)."""
    token = settings.QBO_WEBHOOK_VERIFIER_TOKEN
    if not token:
        # Fail closed so Intuit retries once the token is configured; never accept unsigned deliveries.
        log.error("quickbooks webhook refused (503): QBO_WEBHOOK_VERIFIER_TOKEN is not configured")
        return HttpResponse(status=503)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > inbound.MAX_BODY_BYTES:  # before reading a byte of it
        return _refuse(413, "too_large", f"Content-Length {declared} over {inbound.MAX_BODY_BYTES}")
    body = request.body  # raw bytes, whatever the Content-Type (CloudEvents may say cloudevents+json)
    if len(body) > inbound.MAX_BODY_BYTES:
        return _refuse(413, "too_large", f"body of {len(body)} bytes over {inbound.MAX_BODY_BYTES}")
    signature = request.headers.get("intuit-signature", "")
    if not signature:
        return _refuse(401, "missing_signature", f"no intuit-signature header ({len(body)} bytes)")
    if not inbound.signature_valid(body=body, signature=signature, token=token):
        return _refuse(401, "bad_signature", f"intuit-signature does not match the body ({len(body)} bytes)")
    try:
        result = inbound.webhook_ingest(body=body)
    except inbound.MalformedDelivery as e:
        return _refuse(400, "malformed", str(e))
    log.info("quickbooks webhook stored=%s duplicates=%s ignored=%s", result.stored, result.duplicates, result.ignored)
    return JsonResponse({"stored": result.stored, "duplicates": result.duplicates, "ignored": result.ignored})


# --- operator pages -------------------------------------------------------------------------------


def _refuse_unless_manager(request: HttpRequest) -> HttpResponse | None:
    if can_manage_quickbooks(request.user):
        return None
    messages.error(request, "Only admins can do this.")
    return redirect("qbo:inbox")


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    filters = {key: request.GET.get(key, "").strip()[:40] for key in ("status", "entity", "realm", "source")}
    events = QboWebhookEvent.objects.all().order_by("-received_at", "-id")
    if filters["status"]:
        events = events.filter(status=filters["status"])
    if filters["entity"]:
        events = events.filter(entity=filters["entity"])
    if filters["realm"]:
        events = events.filter(realm_id=filters["realm"])
    if filters["source"]:
        events = events.filter(source=filters["source"])
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "qbo_integration/inbox.html", {
        "page": page, "filters": filters, "query": query.urlencode(), "can_manage": can_manage_quickbooks(request.user),
        "statuses": QboWebhookEvent.Status.choices, "sources": QboWebhookEvent.Source.choices,
        "entities": sorted(set(QboWebhookEvent.objects.values_list("entity", flat=True).distinct())),
        "realms": sorted(set(QboWebhookEvent.objects.values_list("realm_id", flat=True).distinct())),
        "counters": QboWebhookCounter.objects.order_by("name"),
    })


@login_required
@require_GET
def inbox_event(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(QboWebhookEvent, pk=event_id)
    return render(request, "qbo_integration/inbox_event.html", {
        "event": event, "raw": json.dumps(event.raw, indent=2, sort_keys=True), "can_manage": can_manage_quickbooks(request.user)})


@login_required
@require_POST
def inbox_replay(request: HttpRequest) -> HttpResponse:
    if refused := _refuse_unless_manager(request):
        return refused
    ids = [int(i) for i in request.POST.getlist("event") if i.isascii() and i.isdigit()][:REPLAY_MAX]
    if request.POST.get("all_failed"):
        ids = list(QboWebhookEvent.objects.filter(status=QboWebhookEvent.Status.FAILED)
                   .values_list("pk", flat=True)[:REPLAY_MAX])
    if not ids:
        messages.error(request, "Select at least one event to replay.")
    else:
        count = handlers.inbox_replay(event_ids=ids, by=request.user)
        messages.success(request, f"{count} event{pluralize(count)} queued for replay; each is read again from QuickBooks.")
    return redirect(request.POST["next"]) if _safe_next(request) else redirect("qbo:inbox")


def _safe_next(request: HttpRequest) -> bool:
    target = request.POST.get("next", "")
    return target.startswith("/settings/") and "//" not in target


@login_required
@require_POST
def catchup_start(request: HttpRequest) -> HttpResponse:
    if not can_manage_quickbooks(request.user):
        messages.error(request, "Only admins can start a catch-up.")
        return redirect("qbo:settings")
    from django_q.tasks import async_task

    realms = list(QboConnection.objects.filter(state=QboConnection.State.CONNECTED).values_list("realm_id", flat=True))
    if not realms:
        messages.error(request, "QuickBooks is not connected; there is nothing to catch up.")
        return redirect("qbo:settings")
    full = request.POST.get("full") == "1"
    for realm_id in realms:
        async_task("qbo_integration.tasks.qbo_catchup_realm", realm_id, full, group="qbo-catchup")
    messages.success(request, "Catch-up started: Kadouri is asking QuickBooks what changed. "
                              "“Changes from QuickBooks” below shows what it found as soon as it is done.")
    return redirect("qbo:settings")


@login_required
@require_GET
def reconcile_page(request: HttpRequest) -> HttpResponse:
    report = {"run": reconcile.reconcile_latest(), "can_manage": can_manage_quickbooks(request.user)}
    report_html, _ = render_live(request, RECONCILE_REPORT, report)  # the page's part, polled with its stamp
    return render(request, "qbo_integration/reconcile.html", report | {
        "conflicts": SyncConflict.objects.filter(state=SyncConflict.State.OPEN)[:100], "report": report_html,
    })


@login_required
@require_GET
def reconcile_report(request: HttpRequest) -> HttpResponse:
    """The reconciliation page polls this: the report, once a run or a fix has changed it."""
    return live_response(request, RECONCILE_REPORT, {
        "run": reconcile.reconcile_latest(), "can_manage": can_manage_quickbooks(request.user)})


@login_required
@require_POST
def reconcile_start(request: HttpRequest) -> HttpResponse:
    if not can_manage_quickbooks(request.user):
        messages.error(request, "Only admins can run the reconciliation report.")
        return redirect("qbo:reconcile")
    from django_q.tasks import async_task

    async_task("qbo_integration.tasks.qbo_reconcile_run", request.user.pk, group="qbo-reconcile")
    messages.success(request, "Reconciliation started: every linked order is compared with QuickBooks. "
                              "The report below updates as soon as it is done.")
    return redirect("qbo:reconcile")


@login_required
@require_POST
def reconcile_fix(request: HttpRequest, order_id: int) -> HttpResponse:
    if not can_manage_quickbooks(request.user):
        messages.error(request, "Only admins can apply reconciliation fixes.")
        return redirect("qbo:reconcile")
    action = request.POST.get("action")
    if action not in ("take_quickbooks", "push_kadouri"):
        messages.error(request, "Unknown fix.")
        return redirect("qbo:reconcile")
    if not Order.objects.filter(pk=order_id).exists():  # answered now, not by a task failing on the worker
        raise Http404("No such order.")
    from django_q.tasks import async_task

    run = reconcile.reconcile_latest()
    async_task("qbo_integration.tasks.qbo_reconcile_fix", order_id, action, run.pk if run else None,
               request.user.pk, group="qbo-reconcile")
    messages.success(request, "Fix queued: " + ("QuickBooks' values are applied to the order."
                                                if action == "take_quickbooks" else "Kadouri's order is pushed to QuickBooks."))
    return redirect("qbo:reconcile")


@login_required
@require_GET
def inbound_card(request: HttpRequest) -> HttpResponse:
    """The Settings page polls this: the "Changes from QuickBooks" card, once a catch-up or a webhook changed it."""
    return live_response(request, INBOUND_CARD, settings_card_context() | {"can_manage": can_manage_quickbooks(request.user)})


def settings_card_context() -> dict:
    """For the Settings page card (templatetags/qbo_inbound.py)."""
    events = QboWebhookEvent.objects
    return {
        "last_catchup": catchup.catchup_last(),
        "catchups": QboCatchUp.objects.order_by("-started_at", "-id")[:5],
        "failed_events": events.filter(status=QboWebhookEvent.Status.FAILED).count(),
        "pending_events": events.filter(status=QboWebhookEvent.Status.PENDING).count(),
        "last_event": events.order_by("-received_at", "-id").first(),
        "refused": sum(QboWebhookCounter.objects.values_list("count", flat=True)),
        "open_conflicts": SyncConflict.objects.filter(state=SyncConflict.State.OPEN).count(),
        "last_reconcile": reconcile.reconcile_latest(),
    }
