"""Small helpers shared by every app's views."""

from functools import wraps

from django.conf import settings
from django.http import JsonResponse


def client_ip(request) -> str | None:
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


def json_error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def api_login_required(view):
    """Like login_required, but answers 401 JSON: an API client cannot follow a login redirect."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return json_error(401, "Authentication required: log in first.")
        return view(request, *args, **kwargs)

    return wrapper
