"""OAuth 2.0 against the emulator, driven by intuit-oauth's AuthClient (docs/quickbooks/oauth.md,
docs/quickbooks/libraries.md#intuit-oauth-authclient)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError

from qbo_integration.emulator.testing import make_auth_client, qbo_emulator  # noqa: F401  (fixture)

REALM = "9130350000000001"
OTHER_REALM = "9130350000000002"
DAY = 24 * 3600


def consent_form(page: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return {name: html.unescape(value) for name, value in fields}


def authorize(emu, client, realm: str = REALM, action: str = "connect") -> dict[str, str]:
    """GET the consent page, submit it, return the callback query."""
    page = requests.get(client.get_authorization_url([Scopes.ACCOUNTING]))
    assert page.status_code == 200
    form = {**consent_form(page.text), "realm_id": realm, "action": action}
    answer = requests.post(f"{emu.base_url}/connect/oauth2", data=form, allow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(client.redirect_uri)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def connected_client(emu, realm: str = REALM):
    client = make_auth_client(emu)
    callback = authorize(emu, client, realm)
    client.get_bearer_token(callback["code"], realm_id=callback["realmId"])
    return client


def company_info(emu, realm: str, access_token: str) -> requests.Response:
    return requests.get(
        f"{emu.base_url}/v3/company/{realm}/companyinfo/{realm}?minorversion=75",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )


def error_of(excinfo: pytest.ExceptionInfo) -> tuple[int, dict]:
    exc: AuthClientError = excinfo.value
    return exc.status_code, exc.response.json()


def test_discovery_document_points_at_the_emulator(qbo_emulator):
    doc = requests.get(qbo_emulator.discovery_url()).json()
    base = qbo_emulator.base_url
    assert doc["authorization_endpoint"] == f"{base}/connect/oauth2"
    assert doc["token_endpoint"] == f"{base}/oauth2/v1/tokens/bearer"
    assert doc["revocation_endpoint"] == f"{base}/v2/oauth2/tokens/revoke"
    for key in ("issuer", "jwks_uri", "userinfo_endpoint"):
        assert doc[key].startswith(base)
    client = make_auth_client(qbo_emulator)
    assert client.token_endpoint == doc["token_endpoint"]


def test_authorization_url_consent_and_code_exchange(qbo_emulator):
    client = make_auth_client(qbo_emulator)
    url = client.get_authorization_url([Scopes.ACCOUNTING])
    assert url.startswith(f"{qbo_emulator.base_url}/connect/oauth2?")
    page = requests.get(url).text
    assert "Kadouri Demo Produce LLC" in page and "Sandbox Company US 2" in page
    assert 'id="connect"' in page and 'id="cancel"' in page

    callback = authorize(qbo_emulator, client, OTHER_REALM)
    assert callback["state"] == client.state_token
    assert callback["realmId"] == OTHER_REALM

    client.get_bearer_token(callback["code"], realm_id=callback["realmId"])
    assert client.access_token and client.refresh_token
    assert client.expires_in == 3600
    assert client.x_refresh_token_expires_in == 100 * DAY
    assert not hasattr(client, "x_refresh_token_hard_expires_in")
    assert company_info(qbo_emulator, OTHER_REALM, client.access_token).status_code == 200
    assert qbo_emulator.token_stats["authorization_code"] == 1


def test_cancel_redirects_with_access_denied(qbo_emulator):
    client = make_auth_client(qbo_emulator)
    callback = authorize(qbo_emulator, client, action="cancel")
    assert callback == {"error": "access_denied", "state": client.state_token}


def test_unknown_client_or_redirect_uri_is_not_redirected(qbo_emulator):
    bad_client = make_auth_client(qbo_emulator, client_id="someone-else")
    answer = requests.get(bad_client.get_authorization_url([Scopes.ACCOUNTING]), allow_redirects=False)
    assert answer.status_code == 400 and "client_id" in answer.text

    bad_redirect = make_auth_client(qbo_emulator, redirect_uri="https://evil.example/callback")
    answer = requests.get(bad_redirect.get_authorization_url([Scopes.ACCOUNTING]), allow_redirects=False)
    assert answer.status_code == 400 and "redirect_uri" in answer.text


def test_scope_without_accounting_is_refused(qbo_emulator):
    client = make_auth_client(qbo_emulator)
    answer = requests.get(client.get_authorization_url([Scopes.OPENID]), allow_redirects=False)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["invalid_scope"]


def test_code_is_single_use(qbo_emulator):
    client = make_auth_client(qbo_emulator)
    code = authorize(qbo_emulator, client)["code"]
    client.get_bearer_token(code)
    with pytest.raises(AuthClientError) as excinfo:
        client.get_bearer_token(code)
    assert error_of(excinfo) == (400, {"error": "invalid_grant"})
    assert qbo_emulator.token_stats["authorization_code"] == 2
    assert qbo_emulator.token_stats["authorization_code_failed"] == 1


def test_code_is_short_lived(qbo_emulator):
    client = make_auth_client(qbo_emulator)
    code = authorize(qbo_emulator, client)["code"]
    qbo_emulator.advance(301)
    with pytest.raises(AuthClientError) as excinfo:
        client.get_bearer_token(code)
    assert error_of(excinfo)[1]["error"] == "invalid_grant"


def test_code_exchange_needs_the_same_redirect_uri(qbo_emulator):
    qbo_emulator.oauth.config.redirect_uris.append("http://localhost:8000/other")
    client = make_auth_client(qbo_emulator)
    code = authorize(qbo_emulator, client)["code"]
    other = make_auth_client(qbo_emulator, redirect_uri="http://localhost:8000/other")
    with pytest.raises(AuthClientError) as excinfo:
        other.get_bearer_token(code)
    assert error_of(excinfo)[1]["error"] == "invalid_grant"


def test_invalid_client_secret(qbo_emulator):
    client = make_auth_client(qbo_emulator)
    code = authorize(qbo_emulator, client)["code"]
    wrong = make_auth_client(qbo_emulator, client_secret="wrong")
    with pytest.raises(AuthClientError) as excinfo:
        wrong.get_bearer_token(code)
    assert error_of(excinfo) == (401, {"error": "invalid_client"})
    with pytest.raises(AuthClientError) as excinfo:
        wrong.refresh(refresh_token="AB11whatever")
    assert error_of(excinfo) == (401, {"error": "invalid_client"})
    # The code was not consumed by the refused attempt.
    client.get_bearer_token(code)
    assert client.access_token


def test_refresh_rotates_and_previous_token_lives_24_hours(qbo_emulator):
    client = connected_client(qbo_emulator)
    first_access, first_refresh = client.access_token, client.refresh_token

    client.refresh()
    second_refresh = client.refresh_token
    assert second_refresh != first_refresh
    assert client.access_token != first_access
    assert client.expires_in == 3600
    assert qbo_emulator.token_stats["refresh_token"] == 1

    qbo_emulator.advance(23 * 3600)
    client.refresh(refresh_token=first_refresh)  # the previous one still works within 24 h
    assert client.refresh_token not in (first_refresh, second_refresh)

    qbo_emulator.advance(3600 + 1)
    with pytest.raises(AuthClientError) as excinfo:
        client.refresh(refresh_token=first_refresh)
    assert error_of(excinfo) == (
        400,
        {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"},
    )
    client.refresh()  # the newest one is fine
    assert qbo_emulator.token_stats["refresh_token"] == 4
    assert qbo_emulator.token_stats["refresh_token_failed"] == 1


def test_access_token_expires_after_an_hour(qbo_emulator):
    client = connected_client(qbo_emulator)
    assert company_info(qbo_emulator, REALM, client.access_token).status_code == 200
    qbo_emulator.advance(3600)
    answer = company_info(qbo_emulator, REALM, client.access_token)
    assert answer.status_code == 401
    assert answer.json()["Fault"]["Error"][0]["code"] == "3200"
    client.refresh()
    assert company_info(qbo_emulator, REALM, client.access_token).status_code == 200


def test_token_for_another_company_is_forbidden(qbo_emulator):
    client = connected_client(qbo_emulator, REALM)
    answer = company_info(qbo_emulator, OTHER_REALM, client.access_token)
    assert answer.status_code == 403
    assert answer.json()["Fault"]["Error"][0]["code"] == "3100"


def test_refresh_token_lapses_after_100_idle_days(qbo_emulator):
    client = connected_client(qbo_emulator)
    qbo_emulator.advance(99 * DAY)
    client.refresh()
    qbo_emulator.advance(100 * DAY)
    with pytest.raises(AuthClientError) as excinfo:
        client.refresh()
    assert error_of(excinfo)[1]["error"] == "invalid_grant"


def test_hard_expiry_after_five_years_and_header(qbo_emulator):
    client = connected_client(qbo_emulator)
    client.headers["x-include-refresh-token-hard-expires-in"] = "true"
    client.refresh()
    assert client.x_refresh_token_hard_expires_in == 5 * 365 * DAY
    for _ in range(20):  # 1,800 days of faithful refreshing
        qbo_emulator.advance(90 * DAY)
        client.refresh()
    assert client.x_refresh_token_hard_expires_in == 25 * DAY
    assert client.x_refresh_token_expires_in == 25 * DAY
    qbo_emulator.advance(25 * DAY)
    with pytest.raises(AuthClientError) as excinfo:
        client.refresh()
    assert error_of(excinfo)[1]["error"] == "invalid_grant"


def test_revoke_kills_both_tokens(qbo_emulator):
    client = connected_client(qbo_emulator)
    access, refresh = client.access_token, client.refresh_token
    assert client.revoke() is True  # revokes the refresh token...
    answer = company_info(qbo_emulator, REALM, access)  # ...and the access token with it
    assert answer.status_code == 401
    assert answer.json()["Fault"]["Error"][0]["code"] == "3200"
    with pytest.raises(AuthClientError) as excinfo:
        client.refresh(refresh_token=refresh)
    assert error_of(excinfo)[1]["error"] == "invalid_grant"
    assert qbo_emulator.token_stats["revoke"] == 1


def test_revoke_by_access_token_and_bad_client(qbo_emulator):
    client = connected_client(qbo_emulator)
    wrong = make_auth_client(qbo_emulator, client_secret="wrong")
    with pytest.raises(AuthClientError) as excinfo:
        wrong.revoke(token=client.access_token)
    assert excinfo.value.status_code == 401
    client.revoke(token=client.access_token)
    with pytest.raises(AuthClientError):
        client.refresh()


def test_userinfo_and_jwks(qbo_emulator):
    client = connected_client(qbo_emulator)
    info = client.get_user_info().json()
    assert info["realmid"] == REALM
    assert requests.get(client.jwks_uri).json() == {"keys": []}
