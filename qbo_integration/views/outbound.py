"""Sync endpoints: the spec's JSON API and the order page's htmx buttons. Thin: one service call each.

API statuses: 401 not logged in · 404 unknown id · 409 the status table forbids · 422 the order is incomplete ·
502 QuickBooks refused (with its reason and code) · 503 QuickBooks unreachable or not connected ·
202 the work was queued (with the job and its retry time) · 200 done.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Account
from kadouri.display import when
from kadouri.http import api_login_required, client_ip, json_error, json_object_body
from kadouri.live import live_response, live_stamp
from orders.models import Order
from products.models import Product

from .. import sync
from ..client import QboAuthError, QboError
from ..models import BulkPush, QboSyncJob
from ..sync import SyncRefused

State = QboSyncJob.State
UNAVAILABLE_KINDS = {"auth", "not_connected", "transient", "throttled"}


# --- JSON --------------------------------------------------------------------------------------------

def job_json(job: QboSyncJob) -> dict:
    return {
        "id": job.pk, "action": job.action, "state": job.state, "requestId": job.request_id,
        "attempts": job.attempts, "maxAttempts": job.max_attempts, "inDoubt": job.in_doubt,
        "retryAt": job.not_before.isoformat() if job.state == State.PENDING else None,
        "errorKind": job.error_kind or None, "errorCode": job.error_code or None, "error": job.last_error or None,
        "result": job.result,
    }


def order_qbo_json(order: Order) -> dict:
    return {
        "id": order.pk, "number": order.number, "status": order.status, "qboDocId": order.qbo_doc_id,
        "qboDocNumber": order.qbo_doc_number, "qboDocType": order.qbo_doc_type,
        "qboTotal": None if order.qbo_total is None else str(order.qbo_total),
        "qboBalance": None if order.qbo_balance is None else str(order.qbo_balance),
        "paymentStatus": order.payment_status, "changedSinceLastSync": order.changed_since_push,
    }


def job_status(job: QboSyncJob) -> int:
    if job.state == State.DONE:
        return 200
    if job.state in (State.PENDING, State.RUNNING):
        return 202
    if job.error_kind == "refused":
        return 409
    return 503 if job.error_kind in UNAVAILABLE_KINDS else 502


def _job_response(job: QboSyncJob, obj=None) -> JsonResponse:
    body = {"job": job_json(job)}
    if isinstance(obj, Order):
        obj.refresh_from_db()
        body["order"] = order_qbo_json(obj)
    status = job_status(job)
    if status == 202:
        body["message"] = (f"Queued: QuickBooks is busy; retrying at {when(job.not_before)}."
                           if job.state == State.PENDING else "QuickBooks is already working on this.")
    elif status != 200:
        body["error"] = job.last_error
        body["code"] = job.error_code or None
    return JsonResponse(body, status=status)


def _refused(e: Exception) -> JsonResponse:
    if isinstance(e, SyncRefused):
        return json_error(e.status, e.message)
    assert isinstance(e, QboError)
    return json_error(503 if isinstance(e, QboAuthError) or e.kind in UNAVAILABLE_KINDS else 502, e.message,
                      code=e.code or None)


def _body(request: HttpRequest) -> dict:
    try:
        return json_object_body(request)
    except ValueError as e:
        raise SyncRefused(str(e), status=400) from None


@api_login_required
@require_http_methods(["POST", "PUT", "DELETE"])
def api_sync_order(request: HttpRequest, order_id: int) -> JsonResponse:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return json_error(404, f"Order {order_id} does not exist.")
    who = {"order": order, "by": request.user, "ip": client_ip(request)}
    try:
        if request.method == "POST":
            job = sync.order_push_request(doc_type=str(_body(request).get("docType", "invoice")), **who)
        elif request.method == "PUT":
            job = sync.order_update_request(**who)
        else:
            job = sync.order_void_request(**who)
    except (SyncRefused, QboError) as e:
        return _refused(e)
    return _job_response(job, order)


@api_login_required
@require_POST
def api_convert_order(request: HttpRequest, order_id: int) -> JsonResponse:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return json_error(404, f"Order {order_id} does not exist.")
    try:
        job = sync.order_convert_request(order=order, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        return _refused(e)
    return _job_response(job, order)


def _api_sync_ref(request: HttpRequest, model, pk: int, kind: str) -> JsonResponse:
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        return json_error(404, f"{kind.title()} {pk} does not exist.")
    service = sync.account_sync_request if kind == "account" else sync.product_sync_request
    try:
        job = service(**{kind: obj}, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        return _refused(e)
    response = _job_response(job)
    obj.refresh_from_db()
    data = json.loads(response.content)
    data[kind] = {"id": obj.pk, "qboId": obj.qbo_customer_id if kind == "account" else obj.qbo_item_id,
                  "qboSyncToken": obj.qbo_sync_token}
    return JsonResponse(data, status=response.status_code)


@api_login_required
@require_POST
def api_sync_account(request: HttpRequest, account_id: int) -> JsonResponse:
    return _api_sync_ref(request, Account, account_id, "account")


@api_login_required
@require_POST
def api_sync_product(request: HttpRequest, product_id: int) -> JsonResponse:
    return _api_sync_ref(request, Product, product_id, "product")


@api_login_required
@require_GET
def api_order_status(request: HttpRequest, order_id: int) -> JsonResponse:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return json_error(404, f"Order {order_id} does not exist.")
    try:
        return JsonResponse(sync.order_qbo_status(order=order))
    except (SyncRefused, QboError) as e:
        return _refused(e)


# --- HTML (htmx) -------------------------------------------------------------------------------------

ORDER_ACTIONS = {"invoice", "estimate", "update", "void", "convert"}
PANEL = "orders/_qbo_panel.html"


def _outcome_text(job: QboSyncJob, order: Order) -> tuple[str, str]:
    if job.state == State.DONE:
        texts = {
            "create_invoice": f"Invoice #{order.qbo_doc_number} created in QuickBooks.",
            "create_estimate": f"Estimate #{order.qbo_doc_number} created in QuickBooks.",
            "update_document": (f"Nothing to update: QuickBooks {sync.doc_label(order)} #{order.qbo_doc_number} "
                                "already matches this order." if (job.result or {}).get("nothingToUpdate")
                                else f"QuickBooks {sync.doc_label(order)} #{order.qbo_doc_number} updated."),
            "void_document": (f"Estimate #{order.qbo_doc_number} marked Rejected in QuickBooks; the order is cancelled."
                              if order.qbo_doc_type == Order.DocType.ESTIMATE
                              else f"Invoice #{order.qbo_doc_number} voided in QuickBooks; the order is cancelled."),
            "convert_estimate": (f"Converted: the estimate was already converted to Invoice #{order.qbo_doc_number} in "
                                 "QuickBooks; the order now follows it (no second invoice was created)."
                                 if (job.result or {}).get("adopted")
                                 else f"Converted: Invoice #{order.qbo_doc_number} created in QuickBooks from the estimate."),
        }
        return "success", texts.get(job.action, "Done.")
    if job.state == State.PENDING:
        return "warning", (f"Queued — retrying at {when(job.not_before)}. {job.last_error}")
    if job.state == State.RUNNING:
        return "warning", "QuickBooks is already working on this order; this panel updates when it is done."
    return "error", job.last_error


def _run_order_action(request: HttpRequest, order: Order, action: str) -> tuple[str, str]:
    who = {"order": order, "by": request.user, "ip": client_ip(request)}
    try:
        if action in ("invoice", "estimate"):
            job = sync.order_push_request(doc_type=action, **who)
        elif action == "update":
            job = sync.order_update_request(**who)
        elif action == "void":
            job = sync.order_void_request(**who)
        else:
            job = sync.order_convert_request(**who)
    except SyncRefused as e:
        return "error", e.message
    except QboError as e:
        return "error", e.message
    order.refresh_from_db()
    return _outcome_text(job, order)


@login_required
@require_POST
def order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    if action not in ORDER_ACTIONS:
        raise Http404("No such QuickBooks action.")
    order = get_object_or_404(Order.objects.select_related("seller", "buyer"), pk=order_id)
    level, text = _run_order_action(request, order, action)
    if request.htmx:
        order = Order.objects.select_related("seller", "buyer").get(pk=order.pk)
        # The stamp of the panel without the outcome: the next polls keep the outcome until something changes.
        stamp = live_stamp(request, PANEL, {"order": order, "live": True})
        return render(request, PANEL, {"order": order, "qbo_outcome": {"level": level, "text": text}, "live_stamp": stamp})
    getattr(messages, level)(request, text)
    return redirect(order)


@login_required
@require_GET
def order_panel(request: HttpRequest, order_id: int) -> HttpResponse:
    """The order page polls this: the QuickBooks panel and the header's badges and buttons, when they changed
    (a webhook paid the invoice, the worker finished a queued job)."""
    order = get_object_or_404(Order.objects.select_related("seller", "buyer"), pk=order_id)
    return live_response(request, PANEL, {"order": order, "live": True})


@login_required
@require_POST
def sync_ref(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    model = {"account": Account, "product": Product}.get(kind)
    if model is None:
        raise Http404("Nothing to sync.")
    obj = get_object_or_404(model, pk=pk)
    service = sync.account_sync_request if kind == "account" else sync.product_sync_request
    try:
        job = service(**{kind: obj}, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        level, text = "error", e.message
    else:
        obj.refresh_from_db()
        qbo_id = obj.qbo_customer_id if kind == "account" else obj.qbo_item_id
        entity = "customer" if kind == "account" else "item"
        level, text = (("success", f"Synced to QuickBooks {entity} {qbo_id}.") if job.state == State.DONE
                       else ("warning", f"Queued — retrying at {when(job.not_before)}. {job.last_error}")
                       if job.state == State.PENDING else ("error", job.last_error or "QuickBooks is busy; try again."))
    if request.htmx:
        return render(request, "qbo_integration/_sync_button.html",
                      {"kind": kind, "obj": obj, "qbo_outcome": {"level": level, "text": text}})
    getattr(messages, level)(request, text)
    return redirect(obj)


PREVIEW_LIMIT = 200  # orders listed before the click; the count above the list is always complete


def _bulk_progress_context(bulk: BulkPush | None) -> dict:
    if bulk is None:
        return {"bulk": None}
    outcomes = [] if bulk.active else sync.bulk_push_outcomes(bulk)
    problems = [o for o in outcomes if o.outcome in ("failed", "retrying")]
    if bulk.state == BulkPush.State.FAILED or any(o.outcome == "failed" for o in problems):
        level = "error"
    elif problems:
        level = "warning"
    else:
        level = "success"
    return {"bulk": bulk, "problems": problems, "pushed": [o for o in outcomes if o.outcome == "done"], "level": level}


@login_required
@require_http_methods(["GET", "POST"])
def bulk_push(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            bulk = sync.bulk_push_start(by=request.user)
        except QboError as e:
            messages.error(request, e.message)
            return redirect("qbo:bulk-push")
        if request.htmx:
            bulk.refresh_from_db()  # Q_SYNC (tests, a single process) may have run it already
            return render(request, "qbo_integration/_bulk_progress.html", _bulk_progress_context(bulk))
        return redirect("qbo:bulk-push")
    latest = BulkPush.objects.first()
    pending, preview = (0, []) if latest is not None and latest.active else sync.bulk_push_preview(limit=PREVIEW_LIMIT)
    return render(request, "qbo_integration/bulk_push.html", {
        "pending": pending, "preview": preview, "more": max(pending - PREVIEW_LIMIT, 0),
        **_bulk_progress_context(latest),
    })


@login_required
@require_GET
def bulk_push_progress(request: HttpRequest, bulk_id: int) -> HttpResponse:
    bulk = get_object_or_404(BulkPush, pk=bulk_id)
    return render(request, "qbo_integration/_bulk_progress.html", _bulk_progress_context(bulk))
