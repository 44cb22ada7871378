from http import HTTPStatus
from urllib.parse import urlsplit

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from kadouri.display import one_home_currency
from kadouri.http import LOG_IN_FIRST, json_error
from kadouri.text import is_ascii_digits
from kadouri.views import bad_request_response


class UnreadableContentLengthMiddleware:
    """A Content-Length that is not a plain number ("abc", "-1", "1e3") is refused with a 400 before anything
    reads the body: Django's own body reader would otherwise raise ValueError, a 500 (and, under DEBUG, a debug
    page). First in the chain, so CSRF and session middleware never touch such a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = (request.META.get("CONTENT_LENGTH") or "").strip()
        if request.META.get("CONTENT_LENGTH") and not is_ascii_digits(declared):
            return bad_request_response(request, "The Content-Length header is not a number.")
        return self.get_response(request)


class OneHomeCurrencyMiddleware:
    """Every amount on a page is written in its currency (kadouri/display.py): the company's home currency is read
    once per request, not once per amount."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with one_home_currency():
            return self.get_response(request)


class NoStoreWhenLoggedInMiddleware:
    """Pages and JSON shown to a logged-in user hold business data: no browser or proxy may keep a copy
    (the back button after logout, a shared computer, a caching proxy)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


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
            return json_error(401, LOG_IN_FIRST)
        if response.status_code >= 400 and not response.streaming and not response.content:
            return _json_error_like(request, response)
        return response


def _is_login_redirect(response) -> bool:
    location = urlsplit(response.get("Location", "")).path
    return location in {resolve_url(settings.LOGIN_URL), reverse("admin:login")}


def _json_error_like(request, response):
    if response.status_code == 405:
        allowed = response.get("Allow", "")
        message = f"Method {request.method} is not allowed here; use {allowed or 'another method'}."
    else:
        try:
            message = f"{HTTPStatus(response.status_code).phrase}."
        except ValueError:
            message = "Refused."
    json_response = json_error(response.status_code, message)
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if header in response:
            json_response[header] = response[header]
    return json_response
