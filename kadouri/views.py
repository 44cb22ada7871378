"""Error pages: JSON under /api/, a plain page elsewhere; never a traceback."""

from django.http import JsonResponse
from django.shortcuts import render

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have permission to do that.",
    404: "Not found.",
    500: "Something went wrong on our side. The error has been logged; please try again.",
}


def _error(request, status: int, message: str | None = None):
    message = message or MESSAGES[status]
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request_response(request, message: str):
    """A 400 with a specific reason, in the shape the path calls for (JSON under /api/, a page elsewhere)."""
    return _error(request, 400, message)


def bad_request(request, exception=None):
    return _error(request, 400)


def permission_denied(request, exception=None):
    return _error(request, 403)


def page_not_found(request, exception=None):
    return _error(request, 404)


def server_error(request):
    return _error(request, 500)


def csrf_failure(request, reason=""):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "CSRF check failed: reload the page and try again."}, status=403)
    return render(
        request,
        "error.html",
        {"status": 403, "message": "Your form expired or came from another site. Reload the page and try again."},
        status=403,
    )
