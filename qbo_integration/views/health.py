"""GET /healthz: for load balancers and monitors. No log-in and no secrets: only states and figures (no company,
realm or token). 200 when every check passes, 503 naming the failing ones (qbo_integration/health.py)."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..health import health_report


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, body = health_report()
    response = JsonResponse(body, status=200 if healthy else 503)
    # A monitor probes every few seconds: a failing check is its news, not an ERROR line (and a Sentry event) per
    # probe, which Django would log for any 5xx it has not logged yet.
    response._has_been_logged = True
    return response
