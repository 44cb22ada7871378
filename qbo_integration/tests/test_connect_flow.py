"""Connecting through the emulator's real consent page: the spec's OAuth flow and its failure cases."""

import time
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

from accounts.models import Account
from qbo_integration.connection.connect import STATE_SESSION_KEY
from qbo_integration.models import IntegrationLog, QboConnection
from qbo_integration.testing import REALM_ID, store_connection

OTHER_REALM = "9130350000000002"


def consent(authorize_url: str, realm_id: str = REALM_ID, action: str = "connect") -> str:
    """Plays the person on the emulator's consent page; returns the path Kadouri is sent back to."""
    page = requests.get(authorize_url)
    assert page.status_code == 200 and "Connect" in page.text
    fields = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
    answer = requests.post(
        authorize_url.split("?")[0], data=fields | {"realm_id": realm_id, "action": action}, allow_redirects=False
    )
    assert answer.status_code in (302, 303), answer.text[:300]
    back = urlparse(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def start(client) -> str:
    response = client.get("/api/quickbooks/connect")
    assert response.status_code == 302
    return response["Location"]


def messages_on(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.django_db
def test_it_connects_and_names_the_company(admin_client, qbo):
    authorize_url = start(admin_client)
    assert "scope=com.intuit.quickbooks.accounting" in authorize_url
    assert authorize_url.startswith(qbo.base_url + "/connect/oauth2")

    page = admin_client.get(consent(authorize_url), follow=True)

    assert "Connected to QuickBooks company “Kadouri Demo Produce LLC”" in messages_on(page)
    assert "Kadouri Demo Produce LLC" in page.content.decode()
    conn = QboConnection.objects.get()
    assert (conn.realm_id, conn.state, conn.connected_by.username) == (REALM_ID, "connected", "ada")
    assert conn.access_token and conn.refresh_token and conn.refresh_expires_at and conn.hard_expires_at
    assert IntegrationLog.objects.filter(event="connected", realm_id=REALM_ID).exists()


@pytest.mark.django_db
def test_it_explains_a_cancel_on_the_consent_page(admin_client, qbo):
    page = admin_client.get(consent(start(admin_client), action="cancel"), follow=True)

    assert "cancelled" in messages_on(page)
    assert not QboConnection.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_tampered_state(admin_client, qbo):
    back = consent(start(admin_client)).replace("state=", "state=x")

    page = admin_client.get(back, HTTP_ACCEPT="text/html")

    assert page.status_code == 400
    assert "link is invalid" in page.content.decode() and "could not be verified" in page.content.decode()
    assert not QboConnection.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_replayed_callback(admin_client, qbo):
    back = consent(start(admin_client))
    admin_client.get(back)
    QboConnection.objects.all().delete()

    page = admin_client.get(back)

    assert page.status_code == 400 and "already used" in page.json()["error"]
    assert not QboConnection.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_state_from_another_session(admin_client, client, qbo, django_user_model):
    back = consent(start(admin_client))
    other = django_user_model.objects.create_superuser("eve", password="pw-eve-123")
    client.force_login(other)

    page = client.get(back, HTTP_ACCEPT="text/html")

    assert page.status_code == 400 and "already used or did not start here" in page.content.decode()
    assert "Back to QuickBooks settings" in page.content.decode()
    assert not QboConnection.objects.exists()


@pytest.mark.django_db
def test_it_refuses_an_expired_state(admin_client, qbo):
    back = consent(start(admin_client))
    session = admin_client.session
    session[STATE_SESSION_KEY]["issued"] = time.time() - 3600
    session.save()

    page = admin_client.get(back, follow=True)

    assert "expired" in messages_on(page)
    assert not QboConnection.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("drop", ["realmId", "code"])
def test_it_refuses_an_incomplete_answer(admin_client, qbo, drop):
    back = urlparse(consent(start(admin_client)))
    query = {k: v[0] for k, v in parse_qs(back.query).items() if k != drop}

    page = admin_client.get(back.path, query, follow=True)

    assert "incomplete answer" in messages_on(page)
    assert not QboConnection.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_second_company_while_the_first_ones_ids_exist(admin_client, qbo):
    store_connection(qbo)
    Account.objects.create(name="Linked", code="LNK", qbo_customer_id="58")
    admin_client.post("/api/quickbooks/disconnect")

    page = admin_client.get(consent(start(admin_client), realm_id=OTHER_REALM), follow=True)

    assert "would mix the two companies" in messages_on(page)
    assert list(QboConnection.objects.values_list("realm_id", flat=True)) == [REALM_ID]
    assert Account.objects.get(code="LNK").qbo_customer_id == "58"


@pytest.mark.django_db
def test_it_connects_a_second_company_once_an_admin_cleared_the_ids(admin_client, qbo):
    store_connection(qbo)
    Account.objects.create(name="Linked", code="LNK", qbo_customer_id="58")
    admin_client.post("/api/quickbooks/disconnect")

    cleared = admin_client.post("/settings/quickbooks/clear-ids/", {"confirm": "CLEAR"}, follow=True)
    page = admin_client.get(consent(start(admin_client), realm_id=OTHER_REALM), follow=True)

    assert "Cleared QuickBooks ids: 1 accounts" in messages_on(cleared)
    assert "Sandbox Company US 2" in messages_on(page)
    assert Account.objects.get(code="LNK").qbo_customer_id is None
    assert list(QboConnection.objects.values_list("realm_id", flat=True)) == [OTHER_REALM]


@pytest.mark.django_db
def test_it_reconnects_the_same_company_keeping_ids(admin_client, qbo):
    store_connection(qbo)
    Account.objects.create(name="Linked", code="LNK", qbo_customer_id="58")
    admin_client.post("/api/quickbooks/disconnect")

    admin_client.get(consent(start(admin_client)))

    assert QboConnection.objects.get().state == "connected"
    assert Account.objects.get(code="LNK").qbo_customer_id == "58"


@pytest.mark.django_db
def test_it_lets_only_admins_connect_and_disconnect(staff_client, qbo):
    store_connection(qbo)

    connect = staff_client.get("/api/quickbooks/connect")
    disconnect = staff_client.post("/api/quickbooks/disconnect", HTTP_ACCEPT="application/json")
    page = staff_client.get("/settings/quickbooks/")

    assert connect.status_code == 403 and "Only admins can connect" in connect.json()["error"]
    assert disconnect.status_code == 403
    assert QboConnection.objects.get().state == "connected"
    assert "Only admins can connect or disconnect" in page.content.decode()
    assert 'data-testid="connect"' not in page.content.decode()


@pytest.mark.django_db
def test_it_disconnects_by_revoking_then_deleting_the_tokens(admin_client, qbo):
    conn = store_connection(qbo)
    old_refresh = conn.refresh_token

    response = admin_client.post("/api/quickbooks/disconnect", HTTP_ACCEPT="application/json")

    assert response.status_code == 200 and response.json()["disconnected"] is True
    conn.refresh_from_db()
    assert (conn.state, conn.access_token, conn.refresh_token) == ("disconnected", "", "")
    assert qbo.count_requests(method="POST", path="/v2/oauth2/tokens/revoke") == 1
    dead = requests.post(
        qbo.base_url + "/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=(qbo.oauth.config.client_id, qbo.oauth.config.client_secret),
    )
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    assert IntegrationLog.objects.filter(event="disconnected").exists()


@pytest.mark.django_db
def test_it_reports_status_as_json(admin_client, qbo):
    store_connection(qbo)

    status = admin_client.get("/api/quickbooks/status").json()

    assert status["connected"] is True and status["state"] == "connected"
    assert status["realmId"] == REALM_ID and status["companyName"] == "Kadouri Demo Produce LLC"
    assert status["environment"] == "emulator"
    for key in (
        "accessTokenExpiresAt",
        "refreshTokenExpiresAt",
        "refreshTokenHardExpiresAt",
        "lastSuccessfulCallAt",
        "lastError",
    ):
        assert key in status


@pytest.mark.django_db
def test_it_answers_401_json_to_anonymous_api_calls(client):
    for method, url in [
        ("get", "/api/quickbooks/status"),
        ("get", "/api/quickbooks/connect"),
        ("get", "/api/quickbooks/callback"),
        ("post", "/api/quickbooks/disconnect"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 401, url
        assert "error" in response.json()


@pytest.mark.django_db
def test_it_refuses_any_company_when_ids_exist_but_their_company_is_unknown(admin_client, qbo):
    Account.objects.create(name="Linked", code="LNK", qbo_customer_id="58")

    page = admin_client.get(consent(start(admin_client)), follow=True)

    assert "would mix the two companies" in messages_on(page)
    assert not QboConnection.objects.exists()


def grant_revoked(emu, token: str) -> bool:
    grant_id = emu.oauth.grant_of(token)
    return next(grant["revoked"] for grant in emu.grants() if grant["id"] == grant_id)


def tampered(back: str, realm_id: str) -> str:
    path, _, query = back.partition("?")
    params = {k: v[0] for k, v in parse_qs(query).items()} | {"realmId": realm_id}
    return f"{path}?{urlencode(params)}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "claimed_realm, reason",
    [
        (OTHER_REALM, f"QuickBooks did not confirm company {OTHER_REALM}"),  # a real company the sign-in was not for
        ("٩١٣", "invalid company id"),  # Arabic-Indic digits: str.isdigit() says yes
    ],
)
def test_it_keeps_the_old_connection_when_the_callback_names_another_company(admin_client, qbo, claimed_realm, reason):
    old = store_connection(qbo)
    old_tokens = (old.access_token, old.refresh_token)

    page = admin_client.get(tampered(consent(start(admin_client)), claimed_realm), follow=True)

    assert reason in messages_on(page) and "Nothing was changed" in messages_on(page)
    conn = QboConnection.objects.get()
    assert (conn.realm_id, conn.state, conn.access_token, conn.refresh_token) == (REALM_ID, "connected", *old_tokens)
    assert admin_client.get("/api/quickbooks/status").json()["realmId"] == REALM_ID
    (new_grant,) = [g for g in qbo.grants() if g["id"] != qbo.oauth.grant_of(old.refresh_token)]
    assert new_grant["revoked"] is True and not grant_revoked(qbo, old.refresh_token)
    failed = IntegrationLog.objects.get(event="connect_failed")
    assert reason in failed.message and "new sign-in was revoked" in failed.message
    assert not IntegrationLog.objects.filter(event="connected").exists()


@pytest.mark.django_db
def test_it_revokes_the_sign_in_a_reconnect_replaces(admin_client, qbo):
    old = store_connection(qbo)

    page = admin_client.get(consent(start(admin_client)), follow=True)

    assert "Connected to QuickBooks company" in messages_on(page)
    conn = QboConnection.objects.get()
    assert conn.refresh_token != old.refresh_token and not grant_revoked(qbo, conn.refresh_token)
    assert grant_revoked(qbo, old.refresh_token)
    assert qbo.stats()["grants"] == {"issued": 2, "revoked": 1}
    assert "replaced sign-in was revoked" in IntegrationLog.objects.get(event="connected").message


@pytest.mark.django_db
def test_it_revokes_the_old_company_when_switching_to_another(admin_client, qbo):
    old = store_connection(qbo)  # no QuickBooks ids stored yet, so switching is allowed

    admin_client.get(consent(start(admin_client), realm_id=OTHER_REALM))

    conn = QboConnection.objects.get()
    assert (conn.realm_id, conn.company_name) == (OTHER_REALM, "Sandbox Company US 2")
    assert grant_revoked(qbo, old.refresh_token) and not grant_revoked(qbo, conn.refresh_token)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["error=access_denied", "error=x&state=forged"])
def test_a_callback_without_this_sessions_state_cannot_cancel_a_connect(admin_client, qbo, query):
    authorize_url = start(admin_client)

    ignored = admin_client.get(f"/api/quickbooks/callback?{query}", HTTP_ACCEPT="text/html")  # a link on another site
    as_image = admin_client.get(f"/api/quickbooks/callback?{query}", HTTP_ACCEPT="image/avif,image/*")  # an <img>
    page = admin_client.get(consent(authorize_url), follow=True)

    assert ignored.status_code == 400 and "link is invalid" in ignored.content.decode()
    assert as_image.status_code == 400 and "link is invalid" in as_image.json()["error"]
    assert "Connected to QuickBooks company" in messages_on(page)
    assert QboConnection.objects.get().state == "connected"


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_a_second_disconnect_says_not_connected_and_logs_nothing(admin_client, qbo, accept):
    store_connection(qbo)
    first = admin_client.post("/api/quickbooks/disconnect", HTTP_ACCEPT=accept, follow=True)

    second = admin_client.post("/api/quickbooks/disconnect", HTTP_ACCEPT=accept, follow=True)

    assert first.status_code == 200
    if accept == "application/json":
        assert second.status_code == 409 and "not connected" in second.json()["error"]
    else:
        assert "not connected" in messages_on(second) and "disconnected." not in messages_on(second)
    assert IntegrationLog.objects.filter(event="disconnected").count() == 1
    assert qbo.count_requests(method="POST", path="/v2/oauth2/tokens/revoke") == 1


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["", "text/html", "application/json"])
def test_staff_get_403_from_admin_only_endpoints_whatever_they_accept(staff_client, qbo, accept):
    store_connection(qbo)
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    for method, url in [
        ("get", "/api/quickbooks/connect"),
        ("get", "/api/quickbooks/callback?code=x&state=y"),
        ("post", "/api/quickbooks/disconnect"),
    ]:
        response = getattr(staff_client, method)(url, **headers)
        assert response.status_code == 403, url
        assert "Only admins" in response.json()["error"]
    assert QboConnection.objects.get().state == "connected"
