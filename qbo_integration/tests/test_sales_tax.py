"""Sales tax through Kadouri (adapt/tax.py): what each line and customer carries by the company's model, the
refusal before anything is sent, QuickBooks' tax stored and shown, payments of the taxed total, reconciliation
like with like, and the forms that choose tax codes — against the emulator's seeded companies."""

import json
from decimal import Decimal

import pytest
from django.core.cache import cache

from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.models import BulkPush, QboConnection
from qbo_integration.reconcile import reconcile_run, reconcile_take_quickbooks
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

pytestmark = pytest.mark.django_db

# 10 × $32.50 apples and 4 × $36.75 pears = $472.00; per company: (apples' code, pears' code, tax, per-line codes)
EXPECTED = {
    # pears not taxable: 7.25% (the company's state, California: the buyer has no state) of $325.00 = $23.5625
    "automated_tax": (None, None, Decimal("23.56"), ["TAX", "NON"]),
    "canada": ("HST ON", "GST", Decimal("49.60"), ["HST ON", "GST"]),  # 13% of 325 + 5% of 147 (the default)
    "uk": ("20.0% S", "0.0% Z", Decimal("65.00"), ["20.0% S", "0.0% Z"]),
    "idealised": (None, None, Decimal("0.00"), [None, None]),
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def api(client, method: str, path: str, body: dict | None = None):
    return getattr(client, method.lower())(
        f"/api/quickbooks/{path}", data=json.dumps(body or {}), content_type="application/json"
    )


def code_ids(emu, realm: str) -> dict[str, str]:
    return {code["Name"]: code["Id"] for code in entities(emu, "TaxCode", realm)}


def line_codes(invoice: dict, codes: dict[str, str]) -> list[str | None]:
    names = {v: k for k, v in codes.items()}
    found = []
    for line in invoice["Line"]:
        if line["DetailType"] == "SalesItemLineDetail":
            value = (line["SalesItemLineDetail"].get("TaxCodeRef") or {}).get("value")
            found.append(names.get(value, value))
    return found


def set_up(qbo, company: str, apples, pears) -> tuple[str, QboConnection]:
    realm = COMPANIES[company]
    conn = connect_company(qbo, realm)
    apples_code, pears_code, _, _ = EXPECTED[company]
    codes = code_ids(qbo, realm)
    if company == "automated_tax":
        pears.taxable = False
        pears.save()
    if apples_code:
        apples.qbo_tax_code_id = codes[apples_code]
        apples.save()
        conn.default_tax_code_id = codes[pears_code]  # pears have no code of their own: the Settings default
        conn.save()
    return realm, conn


@pytest.mark.parametrize("company", list(EXPECTED))
def test_a_pushed_invoice_carries_the_tax_codes_and_the_order_shows_quickbooks_tax(
    company, staff_client, qbo, order_factory, apples, pears
):
    realm, _ = set_up(qbo, company, apples, pears)
    order = order_factory()

    response = api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"})

    assert response.status_code == 200, response.content
    _, _, tax, expected_codes = EXPECTED[company]
    (invoice,) = entities(qbo, "Invoice", realm)
    assert line_codes(invoice, code_ids(qbo, realm)) == expected_codes
    assert Decimal(str(invoice["TotalAmt"])) == Decimal("472.00") + tax
    order.refresh_from_db()
    assert (order.qbo_tax_total, order.qbo_total, order.qbo_balance) == (tax, 472 + tax, 472 + tax)
    assert response.json()["order"]["qboTaxTotal"] == str(tax)
    page = staff_client.get(order.get_absolute_url()).content.decode()
    cur = {"canada": "CAD ", "uk": "GBP "}.get(company, "$")  # amounts in the home currency (kadouri/display.py)
    assert f'data-testid="subtotal">{cur}472.00' in page
    if company == "idealised":
        assert order.qbo_tax_lines == [] and "Tax in QuickBooks" not in page
        assert "GlobalTaxCalculation" not in invoice and "TaxCodeRef" not in json.dumps(invoice["Line"])
        assert all("Taxable" not in c for c in entities(qbo, "Customer", realm))  # payloads exactly as before
    else:
        assert f'data-testid="qbo-tax-total">{cur}{tax}' in page
        assert f'data-testid="qbo-taxed-total">{cur}{472 + tax:,}' in page
    if company == "canada":
        assert [(t["name"], t["percent"], t["base"], t["amount"]) for t in order.qbo_tax_lines] == [
            ("HST ON", "13", "325.00", "42.25"),
            ("GST", "5", "147.00", "7.35"),
        ]
        # the rate's words from QuickBooks' TaxRate list, its percent said once; two rates: their sum below them
        assert "Tax in QuickBooks: HST Ontario 13% on CAD 325.00" in page and "GST 5% on CAD 147.00" in page
        assert (
            page.count('data-testid="qbo-tax-total"') == 1
            and '<th colspan="6" class="num">Tax in QuickBooks</th>' in page
        )
        reads = qbo.count_requests(subpath="query")
        assert "HST Ontario 13%" in staff_client.get(order.get_absolute_url()).content.decode()
        assert qbo.count_requests(subpath="query") == reads  # the rates' words are read once an hour, not per view
    if company == "uk":
        assert "Tax in QuickBooks: Standard 20% on GBP 325.00" in page and "Zero-rated 0% on GBP 147.00" in page
        assert "20.0% S" not in page
    if company == "automated_tax":
        (tax_line,) = order.qbo_tax_lines
        assert tax_line["name"] == "California sales tax" and tax_line["percent"] == "7.25"
        (item,) = [i for i in entities(qbo, "Item", realm) if i["Name"] == "Bartlett Pears"]
        assert item["Taxable"] is False


@pytest.mark.parametrize("company", ["canada", "uk"])
def test_a_line_without_a_tax_code_is_refused_before_anything_is_sent(company, staff_client, qbo, order_factory):
    realm = COMPANIES[company]
    connect_company(qbo, realm)
    order = order_factory()
    qbo.clear_requests()

    response = api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"})

    assert response.status_code == 422
    assert response.json()["error"].startswith(
        "Choose a tax code for Bartlett Pears and Gala Apples, or a default tax code in Settings → QuickBooks → "
        "Company rules: this QuickBooks company needs a tax code on every line"
    )
    assert qbo.count_requests(realm=realm) == 0
    assert entities(qbo, "Customer", realm) == [] and entities(qbo, "Item", realm) == []
    order.refresh_from_db()
    assert order.status == "draft" and not order.qbo_doc_id and not order.qbo_jobs.exists()

    clicked = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", HTTP_HX_REQUEST="true")
    assert "Choose a tax code for Bartlett Pears and Gala Apples" in clicked.content.decode()
    assert qbo.count_requests(realm=realm) == 0


def test_a_bulk_push_fails_the_order_without_tax_codes_and_pushes_the_others(
    staff_user, qbo, order_factory, apples, pears, seller, buyer
):
    realm = COMPANIES["canada"]
    connect_company(qbo, realm)
    apples.qbo_tax_code_id = code_ids(qbo, realm)["GST"]
    apples.save()
    ready = order_factory(ready_to_push=True)
    ready.lines.filter(product=pears).delete()
    ready.save()
    blocked = order_factory(ready_to_push=True)

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert (bulk.state, bulk.succeeded, bulk.failed) == (BulkPush.State.DONE, 1, 1)
    job = blocked.qbo_jobs.get()
    assert job.state == "failed" and job.last_error.startswith("Choose a tax code for Bartlett Pears, or a default")
    (invoice,) = entities(qbo, "Invoice", realm)
    assert invoice["DocNumber"] == ready.number
    assert [i["Name"] for i in entities(qbo, "Item", realm)] == ["Gala Apples"]  # nothing of the blocked order


def test_an_exempt_buyer_pays_no_tax_and_a_changed_exemption_is_pushed(staff_client, qbo, order_factory, buyer):
    realm = COMPANIES["automated_tax"]
    connect_company(qbo, realm)
    buyer.tax_exempt, buyer.tax_exemption_reason = True, "9"
    buyer.save()
    order = order_factory()

    assert api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"}).status_code == 200

    (customer,) = entities(qbo, "Customer", realm)
    assert customer["Taxable"] is False and customer["TaxExemptionReasonId"] == 9
    order.refresh_from_db()
    assert order.qbo_tax_total == Decimal("0.00") and order.qbo_total == Decimal("472.00")
    assert 'data-testid="qbo-tax-total">$0.00' in staff_client.get(order.get_absolute_url()).content.decode()

    buyer.refresh_from_db()
    buyer.tax_exempt, buyer.tax_exemption_reason = False, ""
    buyer.save()
    assert api(staff_client, "POST", f"sync/account/{buyer.pk}").status_code == 200
    (customer,) = entities(qbo, "Customer", realm)
    assert customer["Taxable"] is True and "TaxExemptionReasonId" not in customer


def test_a_product_made_non_taxable_is_sent_again_by_an_update(staff_client, qbo, order_factory, apples):
    realm = COMPANIES["automated_tax"]
    connect_company(qbo, realm)
    order = order_factory()
    assert api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"}).status_code == 200
    apples.refresh_from_db()
    apples.taxable = False
    apples.save()

    response = api(staff_client, "PUT", f"sync/order/{order.pk}")

    assert response.status_code == 200 and "nothingToUpdate" not in response.json()["job"]["result"]
    (invoice,) = entities(qbo, "Invoice", realm)
    assert line_codes(invoice, {}) == ["NON", "TAX"] and invoice["TxnTaxDetail"]["TotalTax"] == 10.66  # 7.25% of 147
    assert [i["Taxable"] for i in entities(qbo, "Item", realm) if i["Name"] == "Gala Apples"] == [False]
    order.refresh_from_db()
    assert order.qbo_tax_total == Decimal("10.66")


def test_paying_the_taxed_total_pays_the_order_and_the_subtotal_only_part_of_it(
    staff_client, qbo, order_factory, buyer
):
    realm = COMPANIES["automated_tax"]
    connect_company(qbo, realm)
    buyer.region = "NY"  # New York: 8.53% of $472.00 = $40.26
    buyer.save()
    order = order_factory()
    assert api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"}).status_code == 200
    order.refresh_from_db()
    assert order.qbo_total == Decimal("512.26")

    qbo.record_payment(realm, order.qbo_doc_id, "472.00")  # Kadouri's subtotal only
    status = staff_client.get(f"/api/quickbooks/status/order/{order.pk}").json()
    assert (status["paymentStatus"], status["balance"], status["tax"]) == ("partial", "40.26", "40.26")
    reconcile_take_quickbooks(order_id=order.pk)  # applied as a webhook would apply it
    order.refresh_from_db()
    assert (order.payment_status, order.status, order.qbo_balance) == ("partial", "posted_to_qb", Decimal("40.26"))
    assert "$40.26" in staff_client.get(order.get_absolute_url()).content.decode()

    qbo.record_payment(realm, order.qbo_doc_id)  # the rest: the taxed total is paid
    reconcile_take_quickbooks(order_id=order.pk)
    order.refresh_from_db()
    assert (order.payment_status, order.status, order.qbo_balance) == ("paid", "paid", Decimal("0.00"))
    assert reconcile_run().rows == []  # nothing drifts: QuickBooks' tax is not Kadouri's total


def test_reconciliation_compares_like_with_like_and_shows_tax_in_its_own_column(
    admin_client, staff_client, qbo, order_factory
):
    realm = COMPANIES["canada"]
    conn = connect_company(qbo, realm)
    conn.default_tax_code_id = code_ids(qbo, realm)["HST ON"]
    conn.save()
    taxed, drifted = order_factory(), order_factory()
    for order in (taxed, drifted):
        assert api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"}).status_code == 200
    drifted.refresh_from_db()
    invoice = qbo.api.handle(realm, "GET", f"invoice/{drifted.qbo_doc_id}", {}, b"")[1]["Invoice"]
    lines = [line for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"][:1]
    lines[0]["SalesItemLineDetail"].pop("Qty"), lines[0]["SalesItemLineDetail"].pop("UnitPrice")
    lines[0]["Amount"] = 300
    body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "Line": lines}
    assert qbo.api.handle(realm, "POST", "invoice", {}, json.dumps(body).encode())[0] == 200

    run = reconcile_run()

    assert run.checked == 2 and [row["number"] for row in run.rows] == [drifted.number]
    total, balance = run.rows[0]["drift"]  # QuickBooks' tax is never drift; the edited amount is
    assert (total["field"], total["kadouri"], total["quickbooks"]) == (
        "total",
        "CAD 472.00",
        "CAD 300.00 before CAD 39.00 tax",
    )
    assert (balance["field"], balance["quickbooks"]) == ("balance", "CAD 339.00")
    assert run.rows[0]["tax"] == "CAD 39.00" and run.rows[0]["pushable"] is True
    page = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert f'data-testid="qbo-tax-{drifted.pk}">CAD 39.00' in page


def test_the_product_form_offers_the_companys_tax_codes_read_once(admin_client, qbo, apples):
    realm = COMPANIES["canada"]
    connect_company(qbo, realm)
    qbo.clear_requests()

    first = admin_client.get(f"/products/{apples.pk}/edit/").content.decode()
    again = admin_client.get(f"/products/{apples.pk}/edit/").content.decode()

    assert qbo.count_requests(subpath="query") == 1  # the list is kept, not read on every page view
    labels = ("GST — GST 5%", "HST ON — HST Ontario 13%", "Zero-rated — Zero-rated 0%", "Exempt")  # code, words
    assert all(f">{label}</option>" in page for label in labels for page in (first, again))
    assert 'name="taxable"' not in first
    gst = code_ids(qbo, realm)["GST"]
    form = {"name": "Gala Apples", "unit": "case", "unit_price": "32.50", "active": "on", "qbo_tax_code_id": gst}
    assert admin_client.post(f"/products/{apples.pk}/edit/", form).status_code == 302
    apples.refresh_from_db()
    assert apples.qbo_tax_code_id == gst
    refused = admin_client.post(f"/products/{apples.pk}/edit/", form | {"qbo_tax_code_id": "999"})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()

    QboConnection.objects.update(state=QboConnection.State.NEEDS_RECONNECT)
    cache.clear()
    page = admin_client.get(f"/products/{apples.pk}/edit/")
    assert page.status_code == 200 and "Kadouri could not read the company" in page.content.decode()
    assert f'value="{gst}" selected' in page.content.decode()  # the stored code is kept


@pytest.mark.parametrize(
    ("company", "taxable_field", "note"),
    [("automated_tax", True, "Automated Sales Tax computes the tax"), ("idealised", False, "does not use sales tax")],
)
def test_the_product_form_elsewhere_has_no_tax_code_select(company, taxable_field, note, admin_client, qbo, apples):
    connect_company(qbo, COMPANIES[company])
    page = admin_client.get(f"/products/{apples.pk}/edit/").content.decode()
    assert ('name="taxable"' in page) is taxable_field and 'name="qbo_tax_code_id"' not in page and note in page


def test_the_account_form_asks_the_exemption_reason_for_automated_sales_tax(admin_client, qbo, buyer):
    connect_company(qbo, COMPANIES["automated_tax"])
    form = {"name": buyer.name, "code": buyer.code, "country": "USA", "active": "on", "tax_exempt": "on"}
    refused = admin_client.post(f"/accounts/{buyer.pk}/edit/", form)
    assert refused.status_code == 400 and "Choose why the buyer is exempt" in refused.content.decode()
    buyer.refresh_from_db()
    assert buyer.tax_exempt is False
    assert admin_client.post(f"/accounts/{buyer.pk}/edit/", form | {"tax_exemption_reason": "9"}).status_code == 302
    buyer.refresh_from_db()
    assert (buyer.tax_exempt, buyer.tax_exemption_reason) == (True, "9")


def test_settings_chooses_the_default_tax_code_for_a_global_company_only(admin_client, qbo):
    conn = connect_company(qbo, COMPANIES["uk"])
    standard = code_ids(qbo, COMPANIES["uk"])["20.0% S"]
    assert ">20.0% S — Standard 20%</option>" in admin_client.get("/settings/quickbooks/").content.decode()
    rules = {"shared_name_rule": "role", "inactive_rule": "refuse"}
    assert admin_client.post("/settings/quickbooks/rules/", rules | {"default_tax_code_id": "999"}).status_code == 400
    conn.refresh_from_db()
    assert conn.default_tax_code_id == ""
    assert (
        admin_client.post("/settings/quickbooks/rules/", rules | {"default_tax_code_id": standard}).status_code == 302
    )
    conn.refresh_from_db()
    assert conn.default_tax_code_id == standard

    connect_company(qbo, COMPANIES["idealised"])
    assert 'name="default_tax_code_id"' not in admin_client.get("/settings/quickbooks/").content.decode()
