"""Pytest fixtures that point Kadouri at the in-process QuickBooks emulator.

- `qbo`: the emulator (see qbo_integration/emulator/testing.py), with Kadouri's QBO_* settings aimed at it.
- `qbo_connected`: `qbo` plus a stored connection to the first demo company (tokens minted by the emulator).
- every test starts with the companies' request budget unspent (`connection/budget`), as its emulator starts with
  fresh limits.
- `connect_company(emu, realm_id)`: a stored connection to any seeded company, its profile read as on connect;
  `COMPANIES` names the seeded companies (qbo_integration/emulator/engine/profiles.py) for parametrised tests.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from .connection import budget
from .connection.profile import refresh_profile
from .models import QboConnection

REALM_ID = "9130350000000001"
COMPANIES = {
    "idealised": REALM_ID,
    "automated_tax": "9130350000000003",
    "canada": "9130350000000004",
    "uk": "9130350000000005",
    "multi_currency": "9130350000000006",
    "auto_numbers": "9130350000000007",
    "strict_books": "9130350000000008",
}


@pytest.fixture(autouse=True)
def _unspent_request_budget():
    budget.forget_counts()


def point_settings_at(emu, settings) -> None:
    settings.QBO_ENVIRONMENT = "emulator"
    settings.QBO_EMULATOR_URL = emu.base_url
    settings.QBO_CLIENT_ID = emu.oauth.config.client_id
    settings.QBO_CLIENT_SECRET = emu.oauth.config.client_secret
    settings.QBO_REDIRECT_URI = emu.oauth.config.redirect_uris[0]


def store_connection(emu, realm_id: str = REALM_ID, *, user=None) -> QboConnection:
    tokens = emu.issue_tokens(realm_id)
    now = timezone.now()
    conn, _ = QboConnection.objects.update_or_create(
        realm_id=realm_id,
        defaults={
            "company_name": emu.api.companies[realm_id].name,
            "environment": "emulator",
            "state": QboConnection.State.CONNECTED,
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "access_expires_at": now + timedelta(seconds=int(tokens["expires_in"])),
            "refresh_expires_at": now + timedelta(seconds=int(tokens["x_refresh_token_expires_in"])),
            "connected_at": now,
            "connected_by": user,
        },
    )
    return conn


@pytest.fixture
def qbo(qbo_emulator, settings):
    point_settings_at(qbo_emulator, settings)
    return qbo_emulator


@pytest.fixture
def qbo_connected(qbo, db):
    store_connection(qbo)
    return qbo


def connect_company(emu, realm_id: str, *, user=None) -> QboConnection:
    """A connection to `realm_id` with its profile read, as the OAuth callback leaves it."""
    conn = store_connection(emu, realm_id, user=user)
    refresh_profile(realm_id)
    return conn
