"""The JSON API of an order's broker document (docs/quickbooks/beyond.md#the-brokers-own-books).

`GET /api/quickbooks/sync/order/<id>/broker-document` — the document as QuickBooks last said (kind, number, total,
balance, paid to or by the seller, the amount the order makes it now), or why there is none (`note`), and its job.
`POST` sends it (again): 200 done · 202 queued · 401 · 404 · 409 nothing to send (not invoiced, commission kept in
Kadouri, nothing owed) · 422 a foreign currency or no expense account chosen (`field`) · 502 QuickBooks refused ·
503 QuickBooks unreachable or not connected.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

from kadouri.http import api_login_required, client_ip
from orders.models import Order

from ..client.errors import QboError
from ..outbound.broker_requests import broker_send_request
from ..outbox.jobs import SyncRefused
from ..selectors.broker import broker_json, order_broker
from .sync_api import job_body, job_json, json_object_or_404, refused_json


def _document(order: Order) -> dict:
    view = order_broker(order)
    return broker_json(view) | {"job": job_json(view.job) if view.job else None}


@api_login_required
@require_http_methods(["GET", "POST"])
@json_object_or_404(Order, "Order")
def api_broker_document(request: HttpRequest, order: Order) -> JsonResponse:
    if request.method == "GET":
        return JsonResponse({"brokerDocument": _document(order)})
    try:
        job = broker_send_request(order=order, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    body, status = job_body(job)
    return JsonResponse(body | {"brokerDocument": _document(order)}, status=status)
