"""`POST /api/quickbooks/webhook`: Intuit's doorbell. Public, but only signed deliveries are stored."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from ..inbound import intake

log = logging.getLogger(__name__)


def _refuse(status: int, counter: str, detail: str) -> HttpResponse:
    intake.rejection_count(name=counter, detail=detail)
    log.warning("quickbooks webhook refused (%s %s): %s", status, counter, detail)
    return HttpResponse(status=status)


@csrf_exempt
@require_POST
@sensitive_variables("token")
def webhook(request: HttpRequest) -> HttpResponse:
    """Intuit's doorbell: verify, store, enqueue, answer 200 — no QuickBooks call in here
    (docs/quickbooks/webhooks.md)."""
    token = settings.QBO_WEBHOOK_VERIFIER_TOKEN
    if not token:
        # Fail closed so Intuit retries once the token is configured; never accept unsigned deliveries.
        log.error("quickbooks webhook refused (503): QBO_WEBHOOK_VERIFIER_TOKEN is not configured")
        return HttpResponse(status=503)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > intake.MAX_BODY_BYTES:  # before reading a byte of it
        return _refuse(413, "too_large", f"Content-Length {declared} over {intake.MAX_BODY_BYTES}")
    body = request.body  # raw bytes, whatever the Content-Type (CloudEvents may say cloudevents+json)
    if len(body) > intake.MAX_BODY_BYTES:
        return _refuse(413, "too_large", f"body of {len(body)} bytes over {intake.MAX_BODY_BYTES}")
    signature = request.headers.get("intuit-signature", "")
    if not signature:
        return _refuse(401, "missing_signature", f"no intuit-signature header ({len(body)} bytes)")
    if not intake.signature_valid(body=body, signature=signature, token=token):
        return _refuse(401, "bad_signature", f"intuit-signature does not match the body ({len(body)} bytes)")
    try:
        result = intake.webhook_ingest(body=body)
    except intake.MalformedDelivery as e:
        return _refuse(400, "malformed", str(e))
    log.info("quickbooks webhook stored=%s duplicates=%s ignored=%s", result.stored, result.duplicates, result.ignored)
    return JsonResponse({"stored": result.stored, "duplicates": result.duplicates, "ignored": result.ignored})
