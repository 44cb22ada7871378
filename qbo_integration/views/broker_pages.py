"""The broker's own books on the pages (docs/quickbooks/beyond.md#the-brokers-own-books): the Settings card where an
admin chooses how the broker's side reaches QuickBooks, and the order card's "Send to QuickBooks again"."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from kadouri.http import client_ip
from orders.models import Order

from ..client.errors import QboError
from ..connection.vault import latest_connection, log_event
from ..models import BrokerBooks, IntegrationLog, QboConnection
from ..outbound.broker_requests import broker_send_request
from ..outbox.jobs import SyncRefused
from ..refs.broker_refs import expense_accounts, service_items
from .access import managers_only
from .connection_pages import _settings_page

NO_ACCOUNT = "Choose the expense account the seller bills are booked to."


def _choices(options: list[tuple[str, str]], current: str, blank: str, what: str) -> list[tuple[str, str]]:
    choices = [("", blank), *options]
    if current and current not in dict(options):  # kept: QuickBooks could not be read, or it is inactive there
        choices.append((current, f"{what} {current} (not in QuickBooks' list now)"))
    return choices


class BrokerBooksForm(forms.ModelForm):
    """How the broker's side of each invoiced order reaches QuickBooks, and what its documents book to."""

    class Meta:
        model = QboConnection
        fields = ["broker_books", "seller_bill_account_id", "commission_item_id"]
        labels = {"broker_books": "The broker's side of each order"}
        widgets = {"broker_books": forms.RadioSelect}

    def __init__(self, *args, accounts=(), items=(), problem: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        conn = self.instance
        note = f" {problem}" if problem else ""
        self.fields["seller_bill_account_id"] = forms.ChoiceField(
            label="Expense account for seller bills",
            choices=_choices(list(accounts), conn.seller_bill_account_id, "—", "Account"),
            required=False,
            help_text="QuickBooks' expense and cost of goods sold accounts; each bill's line is booked to it." + note,
        )
        self.fields["commission_item_id"] = forms.ChoiceField(
            label="Item for commission invoices",
            choices=_choices(list(items), conn.commission_item_id, "“Commission” (made when first needed)", "Item"),
            required=False,
            help_text="A service item of QuickBooks; left blank, Kadouri uses or makes one named “Commission”." + note,
        )

    def clean(self):
        data = super().clean()
        if data.get("broker_books") == BrokerBooks.SELLER_BILL and not data.get("seller_bill_account_id"):
            self.add_error("seller_bill_account_id", NO_ACCOUNT)
        return data


def broker_books_form(conn: QboConnection, data=None) -> BrokerBooksForm:
    """The card's form, its lists read from QuickBooks (kept five minutes); unreadable, the current choices stay."""
    try:
        accounts, items, problem = expense_accounts(conn.realm_id), service_items(conn.realm_id), ""
    except QboError as e:
        accounts, items = [], []
        problem = f"QuickBooks' list could not be read ({e.message}); the current choice is kept."
    return BrokerBooksForm(data, instance=conn, accounts=accounts, items=items, problem=problem)


@login_required
@require_POST
@managers_only("choose how the broker's books reach QuickBooks", back="qbo:settings")
def broker_books_settings(request: HttpRequest) -> HttpResponse:
    conn = latest_connection()
    if conn is None:
        messages.error(request, "Connect QuickBooks before choosing how the broker's books reach it.")
        return redirect("qbo:settings")
    before = conn.get_broker_books_display()
    form = broker_books_form(conn, request.POST)
    if not form.is_valid():
        return _settings_page(request, conn, broker_form=form)
    form.save(commit=False)  # only these fields: the row also holds the tokens a refresh may have changed
    conn.save(update_fields=[*form.Meta.fields, "updated_at"])
    now = conn.get_broker_books_display()
    if now != before:
        log_event(
            realm_id=conn.realm_id,
            event=IntegrationLog.Event.NAME_RULE,
            message=f"The broker's books: “{before}” → “{now}”, for orders invoiced from now on.",
            user=request.user,
        )
    messages.success(
        request,
        "The broker's books saved: the choice applies to orders invoiced from now on; orders that already have a "
        "bill or commission invoice keep it.",
    )
    return redirect(f"{reverse('qbo:settings')}#broker-books")


@login_required
@require_POST
def broker_send(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    try:
        job = broker_send_request(order=order, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        messages.error(request, e.message)
    else:
        done = {"done": "sent to QuickBooks", "failed": "refused"}.get(job.state, "queued")
        level = messages.error if job.state == "failed" else messages.success
        level(request, f"The broker document is {done}{f': {job.last_error}' if job.last_error else '.'}")
    return redirect(order.get_absolute_url())
