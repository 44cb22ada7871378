from django.test import RequestFactory

from kadouri.http import client_ip


def test_it_takes_the_proxy_appended_hop_behind_the_tls_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")

    assert client_ip(request) == "203.0.113.9"


def test_it_ignores_a_forged_non_address(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="x", REMOTE_ADDR="10.0.0.2")

    assert client_ip(request) == "10.0.0.2"


def test_it_ignores_forwarded_headers_without_a_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="192.0.2.1")

    assert client_ip(request) == "192.0.2.1"
