"""Under /api/, a refusal is JSON whichever view or decorator produced it: a login redirect becomes 401,
an empty error answer gets a JSON body. The real endpoints are swept in tests/security/test_url_crawler.py;
these views stand for the ones someone adds later with Django's plain decorators."""

import pytest
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from kadouri import urls as kadouri_urls


@login_required
def plain_login_required(request):
    return HttpResponse("secret")


@require_POST
def empty_refusal(request):
    return HttpResponse(status=413)


urlpatterns = [
    path("api/later", plain_login_required),
    path("api/empty", empty_refusal),
    path("pages/later", plain_login_required),
    *kadouri_urls.urlpatterns,  # the login page and the admin, where the redirects point
]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("accept", ["", "text/html", "application/json"])
def test_a_login_redirect_under_api_becomes_401_json(client, accept):
    response = client.get("/api/later", **({"HTTP_ACCEPT": accept} if accept else {}))

    assert response.status_code == 401 and "log in" in response.json()["error"]


@pytest.mark.urls(__name__)
def test_pages_outside_api_still_redirect_to_the_login(client):
    response = client.get("/pages/later")

    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.urls(__name__)
def test_an_empty_refusal_under_api_gets_a_json_body(client):
    too_large, wrong_method = client.post("/api/empty"), client.get("/api/empty")

    assert (too_large.status_code, too_large.json()) == (413, {"error": "Request Entity Too Large."})
    assert wrong_method.status_code == 405 and wrong_method["Allow"] == "POST"
    assert wrong_method.json() == {"error": "Method GET is not allowed here; use POST."}
