"""The spec's JSON connection endpoints: the connection's status, and disconnecting (JSON for an API client, a
redirect back to the Settings page for its form)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from kadouri.http import api_login_required, api_permission_required, json_error

from ..connection import connect as connection
from ..context_processors import MANAGE_PERMISSION


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@api_login_required
@require_GET
def status(request: HttpRequest) -> JsonResponse:
    return JsonResponse(connection.status_json())


@api_permission_required(MANAGE_PERMISSION, "Only admins can disconnect QuickBooks.")
@require_POST
def disconnect(request: HttpRequest) -> HttpResponse:
    conn = connection.disconnect(user=request.user)
    if conn is None:
        text = "QuickBooks is not connected: there was nothing to disconnect."
        if _wants_json(request):
            return json_error(409, text)
        messages.error(request, text)
        return redirect("qbo:settings")
    text = "QuickBooks disconnected. Records keep their QuickBooks ids; reconnecting the same company resumes."
    if _wants_json(request):
        return JsonResponse({"disconnected": True, "message": text})
    messages.success(request, text)
    return redirect("qbo:settings")
