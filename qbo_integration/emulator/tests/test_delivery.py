"""Delivering invoices and estimates (engine/delivery.py, docs/quickbooks/beyond.md#invoices-that-reach-the-buyer):
``/send`` with and without ``sendTo``, its fault without an address, the PDF, ``InvoiceLink`` only where Intuit
makes one, the sent-mail list in the control API and the UI, the pay page; and all of it through python-quickbooks
(``invoice.send``, ``invoice.download_pdf``)."""

from __future__ import annotations

import re

import pytest
import requests
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.base import EmailAddress
from quickbooks.objects.estimate import Estimate
from quickbooks.objects.invoice import Invoice

from qbo_integration.emulator import Emulator
from qbo_integration.emulator.testing import make_quickbooks, qbo_emulator, qbo_emulator_server  # noqa: F401

from .test_accounting import Qbo
from .test_python_quickbooks import new_customer, new_invoice, new_item, sales_line

REALM = "9130350000000001"
SIMPLE_START = "9130350000000010"  # no online payments


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def xref_is_exact(data: bytes) -> bool:
    """Every object the cross-reference table lists starts at the offset it says."""
    start = int(re.search(rb"startxref\s+(\d+)\s+%%EOF", data).group(1))
    assert data[start:].startswith(b"xref")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", data[start:])]
    return bool(offsets) and all(
        data[offset:].startswith(f"{number} 0 obj".encode()) for number, offset in enumerate(offsets, start=1)
    )


# --- the engine -----------------------------------------------------------------------------------


@pytest.fixture
def qbo():
    return Qbo()


@pytest.fixture
def invoice(qbo):
    customer, item = qbo.customer("Harbor Fresh Market"), qbo.item("Gala Apples")
    found = qbo.invoice(customer, item, 472)
    qbo.events.clear()
    return found


def test_a_send_to_an_address_sets_bill_email_email_status_and_delivery_info(qbo, invoice):
    sent = qbo.ok("POST", f"invoice/{invoice['Id']}/send", sendTo="buyer@harbor.example")["Invoice"]

    assert sent["BillEmail"] == {"Address": "buyer@harbor.example"}
    assert sent["EmailStatus"] == "EmailSent"
    assert sent["DeliveryInfo"]["DeliveryType"] == "Email" and sent["DeliveryInfo"]["DeliveryTime"]
    assert sent["SyncToken"] == "1"
    assert qbo.operations() == [("Invoice", invoice["Id"], "Update")]
    mail = qbo.api.companies[qbo_realm(qbo)].sent_mail
    assert [(m["entity"], m["DocNumber"], m["customer"], m["to"]) for m in mail] == [
        ("Invoice", invoice["DocNumber"], "Harbor Fresh Market", "buyer@harbor.example")
    ]


def qbo_realm(qbo: Qbo) -> str:
    return next(iter(qbo.api.companies))


def test_a_send_without_send_to_mails_bill_email_and_each_send_mails_again(qbo, invoice):
    update = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True}
    qbo.post("Invoice", update | {"BillEmail": {"Address": "ap@harbor.example"}})

    qbo.ok("POST", f"invoice/{invoice['Id']}/send")
    qbo.ok("POST", f"invoice/{invoice['Id']}/send")

    assert [m["to"] for m in qbo.api.companies[qbo_realm(qbo)].sent_mail] == ["ap@harbor.example"] * 2


def test_a_send_with_no_address_at_all_is_a_6000_fault_and_mails_nothing(qbo, invoice):
    status, code = qbo.fault("POST", f"invoice/{invoice['Id']}/send")

    assert (status, code) == (400, "6000")
    assert qbo.get("Invoice", invoice["Id"])["EmailStatus"] == "NotSet"
    assert qbo.api.companies[qbo_realm(qbo)].sent_mail == [] and qbo.events == []


def test_a_bad_address_a_voided_invoice_and_other_entities_are_refused(qbo, invoice):
    assert qbo.fault("POST", f"invoice/{invoice['Id']}/send", sendTo="not an address") == (400, "2010")
    assert qbo.fault("GET", f"invoice/{invoice['Id']}/send") == (405, "500")
    assert qbo.fault("POST", "invoice/999/send", sendTo="a@b.example") == (400, "610")
    assert qbo.fault("GET", "customer/1/pdf") == (400, "500")
    qbo.post("Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="void")
    assert qbo.fault("POST", f"invoice/{invoice['Id']}/send", sendTo="a@b.example") == (400, "6000")
    assert qbo.api.companies[qbo_realm(qbo)].sent_mail == []


def test_delivery_info_and_email_status_survive_a_sparse_update(qbo, invoice):
    sent = qbo.ok("POST", f"invoice/{invoice['Id']}/send", sendTo="buyer@harbor.example")["Invoice"]

    updated = qbo.post(
        "Invoice", {"Id": sent["Id"], "SyncToken": sent["SyncToken"], "sparse": True, "DueDate": "2027-01-31"}
    )

    assert updated["EmailStatus"] == "EmailSent" and updated["DeliveryInfo"] == sent["DeliveryInfo"]


def test_an_estimate_is_sent_and_printed_too(qbo):
    customer, item = qbo.customer("Harbor Fresh Market"), qbo.item("Gala Apples")
    estimate = qbo.invoice(customer, item, 80, entity="Estimate")

    sent = qbo.ok("POST", f"estimate/{estimate['Id']}/send", sendTo="buyer@harbor.example")["Estimate"]
    status, payload = qbo.call("GET", f"estimate/{estimate['Id']}/pdf")

    assert sent["EmailStatus"] == "EmailSent" and sent["TxnStatus"] == "Pending"
    assert status == 200 and payload["_content_type"] == "application/pdf"
    assert f"Estimate {estimate['DocNumber']}" in payload["_body"]


def test_the_pdf_is_one_valid_page_with_the_company_number_customer_lines_and_total(qbo, invoice):
    status, payload = qbo.call("GET", f"invoice/{invoice['Id']}/pdf")
    data = payload["_body"].encode("latin-1")

    assert status == 200
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    assert pdf_pages(data) == 1 and xref_is_exact(data)
    for text in ("Kadouri Test Co", f"Invoice {invoice['DocNumber']}", "Harbor Fresh Market", "Gala Apples", "472.00"):
        assert text.encode() in data, text


def test_a_long_invoice_still_fits_one_page(qbo):
    customer, item = qbo.customer("Harbor Fresh Market"), qbo.item("Gala Apples")
    line = {"DetailType": "SalesItemLineDetail", "Amount": 1, "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}}}
    big = qbo.post("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line] * 60})

    data = qbo.call("GET", f"invoice/{big['Id']}/pdf")[1]["_body"].encode("latin-1")

    assert pdf_pages(data) == 1 and xref_is_exact(data) and b"more lines" in data


def _allow_online(qbo: Qbo, invoice: dict, **fields) -> dict:
    current = qbo.get("Invoice", invoice["Id"])
    return qbo.post("Invoice", {"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True, **fields})


def test_invoice_link_needs_online_payments_a_flag_and_bill_email(qbo, invoice):
    read = qbo.ok("GET", f"invoice/{invoice['Id']}", include="invoiceLink")["Invoice"]
    assert "InvoiceLink" not in read  # no flag, no email

    _allow_online(qbo, invoice, AllowOnlineCreditCardPayment=True)
    assert "InvoiceLink" not in qbo.ok("GET", f"invoice/{invoice['Id']}", include="invoiceLink")["Invoice"]

    _allow_online(qbo, invoice, BillEmail={"Address": "ap@harbor.example"})
    linked = qbo.ok("GET", f"invoice/{invoice['Id']}", include="invoiceLink")["Invoice"]
    assert linked["InvoiceLink"].endswith(f"/_emulator/pay/{qbo_realm(qbo)}/{invoice['Id']}")
    assert "InvoiceLink" not in qbo.get("Invoice", invoice["Id"])  # only when asked for

    _allow_online(qbo, invoice, AllowOnlineCreditCardPayment=False, AllowOnlineACHPayment=True)
    assert "InvoiceLink" in qbo.ok("GET", f"invoice/{invoice['Id']}", include="invoiceLink")["Invoice"]


# --- over HTTP, the control API and the UI ----------------------------------------------------------


def test_a_simple_start_company_gives_no_invoice_link(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, SIMPLE_START)
    customer, item = new_customer(qb, "Harbor Fresh Market"), new_item(qb, "Gala Apples", 10)
    invoice = new_invoice(qb, customer, [sales_line(item, 1, 10)], AllowOnlineCreditCardPayment=True)
    invoice.BillEmail = EmailAddress()
    invoice.BillEmail.Address = "ap@harbor.example"
    invoice.save(qb=qb)

    assert Invoice.get(invoice.Id, qb=qb, params={"include": "invoiceLink"}).InvoiceLink in (None, "")


def test_python_quickbooks_sends_downloads_and_reads_the_link(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, REALM)
    customer, item = new_customer(qb, "Harbor Fresh Market"), new_item(qb, "Gala Apples", 32.5)
    invoice = new_invoice(qb, customer, [sales_line(item, 10, 32.5)])

    with pytest.raises(QuickbooksException) as missing:
        invoice.send(qb=qb)
    answer = invoice.send(qb=qb, send_to="buyer+ap@harbor.example")
    pdf = invoice.download_pdf(qb=qb)
    invoice = Invoice.get(invoice.Id, qb=qb)
    invoice.AllowOnlineCreditCardPayment = True
    invoice.save(qb=qb)
    linked = Invoice.get(invoice.Id, qb=qb, params={"include": "invoiceLink"})
    estimate = Estimate()
    estimate.CustomerRef = customer.to_ref()
    estimate.Line = [sales_line(item, 1, 32.5)]
    estimate.save(qb=qb)

    assert missing.value.error_code == 6000
    assert answer["Invoice"]["EmailStatus"] == "EmailSent"
    assert answer["Invoice"]["BillEmail"]["Address"] == "buyer+ap@harbor.example"  # sendTo replaced it
    assert pdf.startswith(b"%PDF-") and pdf_pages(pdf) == 1 and xref_is_exact(pdf)
    assert linked.InvoiceLink == f"{qbo_emulator.base_url}/_emulator/pay/{REALM}/{invoice.Id}"
    assert linked.EmailStatus == "EmailSent" and linked.DeliveryInfo.DeliveryType == "Email"
    assert estimate.send(qb=qb, send_to="buyer@harbor.example")["Estimate"]["EmailStatus"] == "EmailSent"
    assert estimate.download_pdf(qb=qb).startswith(b"%PDF-")
    assert [m["to"] for m in qbo_emulator.sent_mail(REALM)] == ["buyer+ap@harbor.example", "buyer@harbor.example"]


def test_a_pdf_of_an_unknown_invoice_is_a_json_fault_python_quickbooks_raises(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, REALM)
    missing = Invoice()
    missing.Id = "999"

    with pytest.raises(QuickbooksException) as fault:
        missing.download_pdf(qb=qb)

    assert fault.value.error_code == 610


def test_the_live_server_answers_a_pdf_and_shows_sent_mail_and_the_pay_page(qbo_emulator_server):
    emu: Emulator = qbo_emulator_server
    qb = make_quickbooks(emu, REALM)
    customer, item = new_customer(qb, "Harbor Fresh Market"), new_item(qb, "Gala Apples", 32.5)
    invoice = new_invoice(qb, customer, [sales_line(item, 10, 32.5)], AllowOnlineACHPayment=True)
    invoice.send(qb=qb, send_to="buyer@harbor.example")
    token = emu.issue_tokens(REALM)["access_token"]
    api = f"{emu.base_url}/v3/company/{REALM}"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/pdf"}

    pdf = requests.get(f"{api}/invoice/{invoice.Id}/pdf", headers=headers, timeout=5)
    read = requests.get(f"{api}/invoice/{invoice.Id}", params={"include": "invoiceLink"}, headers=headers, timeout=5)
    mail = requests.get(f"{emu.base_url}/_emulator/api/companies/{REALM}/mail", timeout=5).json()["mail"]
    page = requests.get(f"{emu.base_url}/_emulator/company/{REALM}/mail", timeout=5)
    link = read.json()["Invoice"]["InvoiceLink"]
    pay_page = requests.get(link, timeout=5)
    paid = requests.post(link, data={"method": "ach"}, timeout=5)
    refused = requests.post(link, data={"method": "card"}, timeout=5)

    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4") and xref_is_exact(pdf.content)
    assert [(m["Id"], m["to"]) for m in mail] == [(invoice.Id, "buyer@harbor.example")]
    assert page.status_code == 200 and 'id="mail-1"' in page.text and "buyer@harbor.example" in page.text
    assert link == f"{emu.base_url}/_emulator/pay/{REALM}/{invoice.Id}"
    assert 'id="pay-ach"' in pay_page.text and 'id="pay-card"' not in pay_page.text
    assert paid.status_code == 200 and "the invoice is paid" in paid.text
    assert "cannot be paid that way" in refused.text
    assert Invoice.get(invoice.Id, qb=qb).Balance == 0


def test_sent_mail_is_kept_in_the_state_file(tmp_path):
    state = tmp_path / "state.json"
    emu = Emulator("http://qbo.emulator.test", state_file=state)
    qbo_company = emu.api.companies[REALM]
    qbo_company.sent_mail.append(
        {"time": "t", "entity": "Invoice", "Id": "1", "DocNumber": "1", "customer": "C", "to": "a@b.c"}
    )
    emu.save_state()

    assert Emulator("http://qbo.emulator.test", state_file=state).sent_mail(REALM)[0]["to"] == "a@b.c"
