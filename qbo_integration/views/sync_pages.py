"""The order page's QuickBooks panel (its buttons and its live refresh) and the Sync buttons of accounts and
products. A click makes at most one short attempt; when the job is queued, the panel follows it by itself."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Account
from kadouri.display import when
from kadouri.http import client_ip
from kadouri.live import live_response, live_stamp
from orders.models import Order
from products.models import Product

from ..client.errors import QboError
from ..models import QboSyncJob
from ..outbound.requests import (
    order_convert_request,
    order_push_request,
    order_update_request,
    order_void_request,
    ref_sync_request,
)
from ..outbound.rules import doc_label
from ..outbox.jobs import SyncRefused

State = QboSyncJob.State
ORDER_ACTIONS = {"invoice", "estimate", "update", "void", "convert"}
PANEL = "orders/_qbo_panel.html"


def _done_text(job: QboSyncJob, order: Order) -> str:
    result = job.result or {}
    number = order.qbo_doc_number
    texts = {
        "create_invoice": f"Invoice #{number} created in QuickBooks.",
        "create_estimate": f"Estimate #{number} created in QuickBooks.",
        "update_document": (
            f"Nothing to update: QuickBooks {doc_label(order)} #{number} already matches this order."
            if result.get("nothingToUpdate")
            else f"QuickBooks {doc_label(order)} #{number} updated."
        ),
        "void_document": (
            f"Estimate #{number} marked Rejected in QuickBooks; the order is cancelled."
            if order.qbo_doc_type == Order.DocType.ESTIMATE
            else f"{doc_label(order).capitalize()} #{number} voided in QuickBooks; the order is cancelled."
        ),
        "create_sales_receipt": f"Cash sale recorded in QuickBooks as sales receipt #{number}.",
        "convert_estimate": (
            f"Converted: the estimate was already converted to Invoice #{number} in QuickBooks; the "
            "order now follows it (no second invoice was created)."
            if result.get("adopted")
            else f"Converted: Invoice #{number} created in QuickBooks from the estimate."
        ),
    }
    return texts.get(job.action, "Done.")


def job_outcome(job: QboSyncJob, done: str) -> tuple[str, str]:
    """The notice a click leaves: `done`, the queued retry, the worker already at it, or the failure."""
    if job.state == State.DONE:
        return "success", done
    if job.state == State.PENDING:
        return "warning", f"Queued — retrying at {when(job.not_before)}. {job.last_error}"
    if job.state == State.RUNNING:
        return "warning", "QuickBooks is already working on this; this panel updates when it is done."
    return "error", job.last_error or "QuickBooks is busy; try again."


def job_message(request: HttpRequest, job: QboSyncJob, done: str) -> bool:
    """Leaves the job's notice for the order page a form goes back to; False when the job failed (the form is shown
    again, saying why)."""
    level, text = job_outcome(job, done)
    if level == "error":
        return False
    getattr(messages, level)(request, text)
    return True


def _tab(request: HttpRequest) -> str:
    """The order page's tab, which the panel's live answers carry back (the lines tab has the totals to update)."""
    return "activity" if (request.GET.get("tab") or request.POST.get("tab")) == "activity" else "lines"


def _run_order_action(request: HttpRequest, order: Order, action: str) -> QboSyncJob:
    who = {"order": order, "by": request.user, "ip": client_ip(request)}
    if action in ("invoice", "estimate"):
        return order_push_request(doc_type=action, **who)
    if action == "update":
        return order_update_request(**who)
    if action == "void":
        return order_void_request(**who)
    return order_convert_request(**who)


@login_required
@require_POST
def order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    if action not in ORDER_ACTIONS:
        raise Http404("No such QuickBooks action.")
    order = get_object_or_404(Order.objects.select_related("seller", "buyer"), pk=order_id)
    try:
        job = _run_order_action(request, order, action)
    except (SyncRefused, QboError) as e:
        job, level, text = None, "error", e.message
    order = Order.objects.select_related("seller", "buyer").get(pk=order.pk)  # as the action left it
    if job is not None:
        level, text = job_outcome(job, _done_text(job, order))
    if request.htmx:
        # The stamp of the panel without the outcome: the next polls keep the outcome until something changes
        # (the worker finishing a queued job, a webhook).
        context = {"order": order, "tab": _tab(request)}
        stamp = live_stamp(request, PANEL, context | {"live": True})
        outcome = {"level": level, "text": text}
        return render(request, PANEL, context | {"qbo_outcome": outcome, "live_stamp": stamp})
    getattr(messages, level)(request, text)
    return redirect(order)


@login_required
@require_GET
def order_panel(request: HttpRequest, order_id: int) -> HttpResponse:
    """The order page polls this: the QuickBooks panel, with the header's badges and buttons and the order's
    QuickBooks figures, when the panel changed (a webhook paid the invoice, the worker finished a queued job)."""
    order = get_object_or_404(Order.objects.select_related("seller", "buyer"), pk=order_id)
    return live_response(request, PANEL, {"order": order, "live": True, "tab": _tab(request)})


@login_required
@require_POST
def sync_ref(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    model = {"account": Account, "product": Product}.get(kind)
    if model is None:
        raise Http404("Nothing to sync.")
    obj = get_object_or_404(model, pk=pk)
    try:
        job = ref_sync_request(obj=obj, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        level, text = "error", e.message
    else:
        obj.refresh_from_db()
        level, text = job_outcome(job, f"Synced to QuickBooks {obj.qbo_entity} {obj.qbo_id}.")
    if request.htmx:
        return render(
            request,
            "qbo_integration/_sync_button.html",
            {"kind": kind, "obj": obj, "qbo_outcome": {"level": level, "text": text}},
        )
    getattr(messages, level)(request, text)
    return redirect(obj)
