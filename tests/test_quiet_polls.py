"""runserver's console does not print a line every 2 s per open page: a live part's 204 poll is dropped."""

import logging

from django.core.servers.basehttp import WSGIRequestHandler


def _server_lines(caplog, *requests: tuple[str, int]) -> list[str]:
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)  # only its log_message is used
    handler.request = None
    handler.requestline, handler.client_address = "", ("127.0.0.1", 1)
    with caplog.at_level(logging.INFO, logger="django.server"):
        caplog.clear()
        logger = logging.getLogger("django.server")
        logger.addHandler(caplog.handler)
        try:
            for line, status in requests:
                handler.log_message('"%s" %s %s', line, str(status), "0")
        finally:
            logger.removeHandler(caplog.handler)
    return [r.getMessage() for r in caplog.records if r.name == "django.server"]


def test_a_quiet_poll_is_not_logged_but_a_change_and_other_requests_are(caplog):
    lines = _server_lines(
        caplog,
        ("GET /settings/quickbooks/orders/1/live/?since=abc HTTP/1.1", 204),
        ("GET /settings/quickbooks/orders/1/live/?since=abc HTTP/1.1", 200),
        ("POST /api/quickbooks/webhook HTTP/1.1", 204),
    )
    assert lines == [
        '"GET /settings/quickbooks/orders/1/live/?since=abc HTTP/1.1" 200 0',
        '"POST /api/quickbooks/webhook HTTP/1.1" 204 0',
    ]
