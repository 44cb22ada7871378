"""Small helpers shared by every app's views."""

import ipaddress
import json
from functools import wraps

from django.conf import settings
from django.http import JsonResponse

from kadouri.text import has_unstorable


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address for the audit log. Behind our TLS proxy, the last X-Forwarded-For hop is the one the
    proxy appended; earlier hops are whatever the client sent."""
    if settings.SECURE_PROXY_SSL_HEADER:
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        forwarded = _valid_ip(hops[-1]) if hops[-1].strip() else None
        if forwarded:
            return forwarded
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


LOG_IN_FIRST = "Authentication required: log in first."


def json_error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def api_login_required(view):
    """Like login_required, but answers 401 JSON: an API client cannot follow a login redirect."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return json_error(401, LOG_IN_FIRST)
        return view(request, *args, **kwargs)

    return wrapper


def api_permission_required(permission: str, message: str):
    """For JSON endpoints that only some users may call: 401 JSON when anonymous, 403 JSON without
    `permission` — never a redirect to the login page, whatever the request's Accept header."""

    def decorator(view):
        @api_login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                return json_error(403, message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def json_object_body(request) -> dict:
    """The request body as a JSON object; ValueError with a message for the client otherwise."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ValueError("The body must be JSON.") from None
    if not isinstance(body, dict):
        raise ValueError("The body must be a JSON object.")
    if has_unstorable(body):
        raise ValueError("The body cannot contain the NUL control character (\\u0000) or a lone surrogate (\\ud800).")
    return body
