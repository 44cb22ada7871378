from http import HTTPStatus
from urllib.parse import urlsplit

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy header; Django's SecurityMiddleware covers the rest."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class ApiErrorsAsJsonMiddleware:
    """Under /api/, every refusal is JSON an API client can read ({"error": ...}), never a page or a redirect:
    a redirect to the login page becomes 401, an empty error (a 405 from Django's method decorators, a refused
    webhook) gets a JSON body with the same status; a 405 keeps its Allow header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/"):
            return response
        if response.status_code in (301, 302, 303, 307, 308) and _is_login_redirect(response):
            return JsonResponse({"error": "Authentication required: log in first."}, status=401)
        if response.status_code >= 400 and not response.streaming and not response.content:
            return _json_error_like(request, response)
        return response


HTTP_STATUSES = {status.value for status in HTTPStatus}


def _is_login_redirect(response) -> bool:
    location = urlsplit(response.get("Location", "")).path
    return location in {resolve_url(settings.LOGIN_URL), reverse("admin:login")}


def _json_error_like(request, response):
    if response.status_code == 405:
        allowed = response.get("Allow", "")
        message = f"Method {request.method} is not allowed here; use {allowed or 'another method'}."
    else:
        phrase = HTTPStatus(response.status_code).phrase if response.status_code in HTTP_STATUSES else "Refused"
        message = f"{phrase}."
    json_response = JsonResponse({"error": message}, status=response.status_code)
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if header in response:
            json_response[header] = response[header]
    return json_response
