"""Money moving through the emulator as a system: HTTP routing of voids and CDC, webhooks, the control API and the
UI's pages and forms for payment methods, sales receipts, credit memos and refund receipts."""

from __future__ import annotations

import requests

from qbo_integration.emulator.testing import WebhookRecorder, qbo_emulator  # noqa: F401  (fixture)

from .test_server import REALM, Api


def item_line(api: Api, amount: float) -> dict:
    invoice = api.invoice(api.customer(f"Line Source {amount}")["Id"], amount)
    return {k: v for k, v in invoice["Line"][0].items() if k not in ("Id", "LineNum")}


def webhook_events(emu, recorder) -> list[tuple[str, str, str]]:
    emu.webhooks.flush()
    return [
        (e["name"], e["id"], e["operation"])
        for p in recorder.payloads
        for n in p["eventNotifications"]
        for e in n["dataChangeEvent"]["entities"]
    ]


def test_a_sales_receipt_is_voided_over_http_the_way_python_quickbooks_sends_it(qbo_emulator):
    api = Api(qbo_emulator)
    receipt = api.create("SalesReceipt", {"Line": [item_line(api, 20.0)], "PrivateNote": "till 3"})

    answer = api.call(
        "POST",
        "salesreceipt",
        {"Id": receipt["Id"], "SyncToken": receipt["SyncToken"], "sparse": True},
        {"operation": "update", "include": "void"},
    )
    again = api.call("POST", "salesreceipt", {"Id": receipt["Id"], "SyncToken": "1"}, {"operation": "void"})

    assert answer.status_code == 200
    voided = answer.json()["SalesReceipt"]
    assert (voided["TotalAmt"], voided["PrivateNote"]) == (0, "Voided - till 3")
    assert again.status_code == 400 and again.json()["Fault"]["Error"][0]["code"] == "6000"


def test_credit_memo_void_is_refused_over_http_and_delete_goes_through(qbo_emulator):
    api = Api(qbo_emulator)
    line = item_line(api, 30.0)
    customer = api.customer("Credit Holder")
    memo = api.create("CreditMemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]})
    ids = {"Id": memo["Id"], "SyncToken": "0"}

    void = api.call("POST", "creditmemo", ids, {"operation": "void"})
    delete = api.call("POST", "creditmemo", ids, {"operation": "delete"})

    assert void.status_code == 400 and void.json()["Fault"]["Error"][0]["code"] == "500"
    assert delete.status_code == 200 and delete.json()["CreditMemo"]["status"] == "Deleted"


def test_money_documents_send_webhooks_and_show_in_cdc_over_http(qbo_emulator):
    emu = qbo_emulator
    recorder = WebhookRecorder()
    emu.webhooks.deliver = recorder
    emu.configure_webhooks(url="https://app.example.test/qbo/webhooks")
    api = Api(emu)
    customer = api.customer("Webhook Credit Co")
    invoice = api.invoice(customer["Id"], 50.0)
    since = emu.now().isoformat()
    webhook_events(emu, recorder)
    recorder.payloads.clear()

    memo = api.create("CreditMemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [item_line(api, 20.0)]})
    payment = api.create(
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 0,
            "Line": [
                {"Amount": 20, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
                {"Amount": 20, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
            ],
        },
    )
    receipt = api.create("SalesReceipt", {"Line": [item_line(api, 5.0)]})
    api.create("SalesReceipt", {"Id": receipt["Id"], "SyncToken": "0", "sparse": True}, operation="void")
    method = api.create("PaymentMethod", {"Name": "Store credit"})
    cdc = api.call("GET", "cdc", params={"entities": "CreditMemo,SalesReceipt,PaymentMethod", "changedSince": since})

    events = webhook_events(emu, recorder)
    assert ("CreditMemo", memo["Id"], "Create") in events
    assert ("Payment", payment["Id"], "Create") in events
    assert ("CreditMemo", memo["Id"], "Update") in events
    assert ("SalesReceipt", receipt["Id"], "Create") in events and ("SalesReceipt", receipt["Id"], "Void") in events
    assert ("PaymentMethod", method["Id"], "Create") in events
    groups = cdc.json()["CDCResponse"][0]["QueryResponse"]
    found = {name: [row["Id"] for row in group[name]] for group in groups for name in group if name[0].isupper()}
    assert found["CreditMemo"] == [memo["Id"]] and found["SalesReceipt"] == [receipt["Id"]]
    assert found["PaymentMethod"] == [method["Id"]]


def test_money_actions_run_through_the_control_api(qbo_emulator):
    api = Api(qbo_emulator)
    customer = api.customer("Control Credit Co")
    invoice = api.invoice(customer["Id"], 60.0)
    base = f"{qbo_emulator.base_url}/_emulator/api/companies/{REALM}/actions"

    memo = requests.post(f"{base}/issue_credit_memo", json={"customer_id": customer["Id"], "amount": 25}).json()
    applied = requests.post(
        f"{base}/apply_credit_memo", json={"credit_memo_id": memo["result"]["Id"], "invoice_id": invoice["Id"]}
    )
    receipt = requests.post(f"{base}/create_sales_receipt", json={"customer_id": customer["Id"], "amount": "9.99"})

    assert memo["result"]["TotalAmt"] == 25
    assert applied.status_code == 200 and applied.json()["result"]["TotalAmt"] == 0
    assert api.read("Invoice", invoice["Id"])["Balance"] == 35
    assert api.read("CreditMemo", memo["result"]["Id"])["RemainingCredit"] == 0
    assert receipt.json()["result"]["TotalAmt"] == 9.99


def test_ui_lists_and_forms_for_money_documents(qbo_emulator):
    emu = qbo_emulator
    api = Api(emu)
    customer = api.customer("Buyer With Credit")
    invoice = api.invoice(customer["Id"], 100.0)
    memo = emu.issue_credit_memo(REALM, customer["Id"], 40)
    receipt = emu.create_sales_receipt(REALM, customer["Id"], 15)
    ui = f"{emu.base_url}/_emulator/company/{REALM}"

    methods_page = requests.get(f"{ui}/payment-methods").text
    memos_page = requests.get(f"{ui}/credit-memos").text
    applied = requests.post(
        f"{ui}/credit-memos/{memo['Id']}/apply", data={"invoice_id": invoice["Id"]}, allow_redirects=False
    )
    voided = requests.post(f"{ui}/sales-receipts/{receipt['Id']}/void", allow_redirects=False)
    refused = requests.post(f"{ui}/credit-memos/{memo['Id']}/delete", allow_redirects=False)

    assert 'id="payment-method-3"' in methods_page and "Diners Club" in methods_page
    assert f'id="apply-credit-{memo["Id"]}"' in memos_page and f'id="refund-credit-{memo["Id"]}"' in memos_page
    assert applied.status_code == 303 and "msg=" in applied.headers["Location"]
    assert api.read("Invoice", invoice["Id"])["Balance"] == 60
    assert voided.status_code == 303 and api.read("SalesReceipt", receipt["Id"])["TotalAmt"] == 0
    assert "Voided" in requests.get(f"{ui}/sales-receipts").text
    assert "error=" in refused.headers["Location"]
    assert 'id="tab-credit-memos"' in requests.get(f"{ui}/").text


def test_ui_refunds_a_credit_memo_and_deletes_the_refund(qbo_emulator):
    emu = qbo_emulator
    api = Api(emu)
    customer = api.customer("Refunded Buyer")
    api.invoice(customer["Id"], 10.0)  # gives the company an item
    memo = emu.issue_credit_memo(REALM, customer["Id"], 12)
    ui = f"{emu.base_url}/_emulator/company/{REALM}"

    requests.post(f"{ui}/credit-memos/{memo['Id']}/refund")
    refund = api.query("select * from RefundReceipt")["RefundReceipt"][0]
    refunds_page = requests.get(f"{ui}/refund-receipts").text
    requests.post(f"{ui}/refund-receipts/{refund['Id']}/delete")
    deleted = requests.post(f"{ui}/credit-memos/{memo['Id']}/delete", allow_redirects=False)

    assert (refund["TotalAmt"], refund["DepositToAccountRef"]["name"]) == (12, "Checking")
    assert f'id="delete-refund-receipt-{refund["Id"]}"' in refunds_page
    assert "msg=" in deleted.headers["Location"]
    assert api.call("GET", f"creditmemo/{memo['Id']}").status_code == 400
