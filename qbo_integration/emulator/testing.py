"""Pytest fixtures and helpers for running the emulator in tests.

Register with ``pytest_plugins = ["qbo_integration.emulator.testing"]`` in a conftest, or import
the fixtures. Nothing here touches Django or its database.

- ``qbo_emulator``: in-process. Every request made with ``requests`` to ``qbo_emulator.base_url``
  (``http://qbo.emulator.test``) is answered by ``Emulator.handle`` through a ``responses`` mock;
  anything else raises ``requests.ConnectionError`` (nothing passes through). The mock is
  ``qbo_emulator.responses`` (add more callbacks there, e.g. for a webhook receiver).
- ``qbo_emulator_server``: the same engine on a live threaded HTTP server on 127.0.0.1 with an
  ephemeral port (``.base_url``, ``.server``), stopped at teardown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from intuitlib.client import AuthClient
from quickbooks import QuickBooks

from .core import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI
from .facade import Emulator
from .web.live import LiveServer
from .web.responses import ConnectionDropped

IN_PROCESS_BASE_URL = "http://qbo.emulator.test"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def install_responses(emu: Emulator, mock: responses.RequestsMock) -> None:
    """Route every request to ``emu.base_url`` through ``emu.handle``."""
    pattern = re.compile(re.escape(emu.base_url) + r"(/.*)?$")

    def callback(request: requests.PreparedRequest) -> tuple[int, dict, bytes]:
        body = request.body
        if body is None:
            body = b""
        elif hasattr(body, "read"):
            body = body.read()
        try:
            return emu.handle(request.method or "GET", request.path_url, dict(request.headers), body)
        except ConnectionDropped as exc:
            raise requests.ConnectionError(
                "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
                request=request,
            ) from exc

    for method in HTTP_METHODS:
        mock.add_callback(method, pattern, callback=callback, content_type=None)


class WebhookRecorder:
    """A webhook receiver to plug into ``emu.webhooks.deliver``: records every delivery and answers
    the queued statuses (then ``default_status``). A status of ``None`` raises a timeout."""

    def __init__(self, *statuses: int | None, default_status: int = 200) -> None:
        self.statuses = list(statuses)
        self.default_status = default_status
        self.calls: list[dict[str, Any]] = []

    def __call__(self, url: str, body: bytes, headers: dict) -> int:
        self.calls.append({"url": url, "body": body, "headers": dict(headers), "json": json.loads(body)})
        status = self.statuses.pop(0) if self.statuses else self.default_status
        if status is None:
            raise requests.Timeout("webhook receiver timed out")
        return status

    @property
    def payloads(self) -> list[Any]:
        return [call["json"] for call in self.calls]


def make_auth_client(emu: Emulator, **overrides: Any):
    """An intuit-oauth ``AuthClient`` pointed at the emulator's discovery document."""
    kwargs = {
        "client_id": emu.oauth.config.client_id,
        "client_secret": emu.oauth.config.client_secret,
        "redirect_uri": emu.oauth.config.redirect_uris[0],
        "environment": emu.discovery_url(),
    }
    kwargs.update(overrides)
    return AuthClient(**kwargs)


def make_quickbooks(emu: Emulator, realm_id: str, tokens: dict | None = None, minorversion: int = 75):
    """A python-quickbooks client for ``realm_id`` with fresh tokens (or the ones given)."""
    tokens = tokens or emu.issue_tokens(realm_id)
    auth_client = make_auth_client(
        emu, access_token=tokens["access_token"], refresh_token=tokens["refresh_token"], realm_id=realm_id
    )
    client = QuickBooks(
        auth_client=auth_client, refresh_token=tokens["refresh_token"], company_id=realm_id, minorversion=minorversion
    )
    # Both attributes: a non-"sandbox" environment selects api_url_v3
    # (docs/quickbooks/libraries.md#pointing-at-the-emulator).
    client.api_url_v3 = client.sandbox_api_url_v3 = emu.api_url()
    return client


@pytest.fixture
def qbo_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    # requests-oauthlib refuses http:// without this (docs/quickbooks/libraries.md#pointing-at-the-emulator).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    emu = Emulator(
        IN_PROCESS_BASE_URL,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        redirect_uris=[DEFAULT_REDIRECT_URI],
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        install_responses(emu, mock)
        emu.responses = mock  # type: ignore[attr-defined]
        yield emu


@pytest.fixture
def qbo_emulator_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    emu = Emulator(
        "http://127.0.0.1",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        redirect_uris=[DEFAULT_REDIRECT_URI],
    )
    server = LiveServer(emu, "127.0.0.1", 0).start()
    emu.server = server  # type: ignore[attr-defined]
    try:
        yield emu
    finally:
        server.stop()
