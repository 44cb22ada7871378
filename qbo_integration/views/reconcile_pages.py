"""The reconciliation page: the last report (polled), running a new one and the one-click fixes (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from kadouri.live import live_response, render_live
from orders.models import Order

from ..context_processors import can_manage_quickbooks
from ..reconcile import money_drifted
from ..selectors.inbound import open_conflicts, reconcile_latest
from .access import managers_only

RECONCILE_REPORT = "qbo_integration/_reconcile_report.html"
FIXES = ("take_quickbooks", "push_kadouri", "push_broker")


@login_required
@require_GET
def reconcile_page(request: HttpRequest) -> HttpResponse:
    report = {"run": reconcile_latest(), "can_manage": can_manage_quickbooks(request.user)}
    report_html, _ = render_live(request, RECONCILE_REPORT, report)  # the page's part, polled with its stamp
    return render(
        request,
        "qbo_integration/reconcile.html",
        report
        | {
            "conflicts": open_conflicts()[:100],
            "report": report_html,
        },
    )


@login_required
@require_GET
def reconcile_report(request: HttpRequest) -> HttpResponse:
    """The reconciliation page polls this: the report, once a run or a fix has changed it."""
    return live_response(
        request, RECONCILE_REPORT, {"run": reconcile_latest(), "can_manage": can_manage_quickbooks(request.user)}
    )


@login_required
@require_POST
@managers_only("run the reconciliation report", back="qbo:reconcile")
def reconcile_start(request: HttpRequest) -> HttpResponse:
    async_task("qbo_integration.tasks.qbo_reconcile_run", request.user.pk, group="qbo-reconcile")
    messages.success(
        request,
        "Reconciliation started: every linked order is compared with QuickBooks. "
        "The report below updates as soon as it is done.",
    )
    return redirect("qbo:reconcile")


@login_required
@require_POST
@managers_only("apply reconciliation fixes", back="qbo:reconcile")
def reconcile_fix(request: HttpRequest, order_id: int) -> HttpResponse:
    action = request.POST.get("action")
    if action not in FIXES:
        messages.error(request, "Unknown fix.")
        return redirect("qbo:reconcile")
    if not Order.objects.filter(pk=order_id).exists():  # answered now, not by a task failing on the worker
        raise Http404("No such order.")
    run = reconcile_latest()
    if action == "push_kadouri" and money_drifted(run, order_id):
        messages.error(
            request,
            "Kadouri's values are not pushed for this order: its payments or credits differ, and QuickBooks is the "
            "book of record for money. Take QuickBooks' values instead.",
        )
        return redirect("qbo:reconcile")
    async_task(
        "qbo_integration.tasks.qbo_reconcile_fix",
        order_id,
        action,
        run.pk if run else None,
        request.user.pk,
        group="qbo-reconcile",
    )
    done = {
        "take_quickbooks": "QuickBooks' values are applied to the order.",
        "push_kadouri": "Kadouri's order is pushed to QuickBooks.",
        "push_broker": "Kadouri's broker document is pushed to QuickBooks.",
    }[action]
    messages.success(request, f"Fix queued: {done}")
    return redirect("qbo:reconcile")
