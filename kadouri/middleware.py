from django.conf import settings
from django.http import JsonResponse


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
