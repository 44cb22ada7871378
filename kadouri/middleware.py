from django.conf import settings
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers

from kadouri.views import bad_request_response


class UnreadableContentLengthMiddleware:
    """A Content-Length that is not a plain number ("abc", "-1", "1e3") is refused with a 400 before anything
    reads the body: Django's own body reader would otherwise raise ValueError, a 500 (and, under DEBUG, a debug
    page). First in the chain, so CSRF and session middleware never touch such a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = (request.META.get("CONTENT_LENGTH") or "").strip()
        if request.META.get("CONTENT_LENGTH") and not (declared.isascii() and declared.isdigit()):
            return bad_request_response(request, "The Content-Length header is not a number.")
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


class ApiMethodNotAllowedMiddleware:
    """Under /api/, a 405 from Django's method decorators becomes JSON like every other API error
    (an API client reads {"error": ...}; the Allow header stays)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and request.path.startswith("/api/") and not response.content:
            allowed = response.get("Allow", "")
            json_response = JsonResponse(
                {"error": f"Method {request.method} is not allowed here; use {allowed or 'another method'}."},
                status=405,
            )
            if allowed:
                json_response["Allow"] = allowed
            return json_response
        return response
