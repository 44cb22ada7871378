"""The "Push all pending" page: what would be sent, the button, and the push's progress (polled while it runs)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ..bulk.outcomes import bulk_push_outcomes, bulk_push_preview
from ..bulk.push import bulk_push_start
from ..client.errors import QboError
from ..models import BulkPush

PREVIEW_LIMIT = 200  # orders listed before the click; the count above the list is always complete


def _bulk_progress_context(bulk: BulkPush | None) -> dict:
    if bulk is None:
        return {"bulk": None}
    outcomes = [] if bulk.active else bulk_push_outcomes(bulk)
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
            bulk = bulk_push_start(by=request.user)
        except QboError as e:
            messages.error(request, e.message)
            return redirect("qbo:bulk-push")
        if request.htmx:
            bulk.refresh_from_db()  # Q_SYNC (tests, a single process) may have run it already
            return render(request, "qbo_integration/_bulk_progress.html", _bulk_progress_context(bulk))
        return redirect("qbo:bulk-push")
    latest = BulkPush.objects.first()
    pending, preview = (0, []) if latest is not None and latest.active else bulk_push_preview(limit=PREVIEW_LIMIT)
    return render(
        request,
        "qbo_integration/bulk_push.html",
        {
            "pending": pending,
            "preview": preview,
            "more": max(pending - PREVIEW_LIMIT, 0),
            **_bulk_progress_context(latest),
        },
    )


@login_required
@require_GET
def bulk_push_progress(request: HttpRequest, bulk_id: int) -> HttpResponse:
    bulk = get_object_or_404(BulkPush, pk=bulk_id)
    return render(request, "qbo_integration/_bulk_progress.html", _bulk_progress_context(bulk))
