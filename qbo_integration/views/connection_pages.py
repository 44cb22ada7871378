"""QuickBooks connection pages: the Settings page, connecting (the OAuth redirect and its callback), clearing the
old company's ids and loading the demo documents."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kadouri.http import api_permission_required, json_error

from .. import demo
from ..adapt.tax import GLOBAL, company_tax_codes, tax_context
from ..client.errors import QboError
from ..client.http import endpoints
from ..connection import connect as connection
from ..connection.profile import profile_for
from ..connection.vault import current_connection, latest_connection
from ..context_processors import MANAGE_PERMISSION, can_manage_quickbooks
from ..forms import CompanyRulesForm
from ..models import IntegrationLog
from ..selectors.profile import profile_facts
from .access import managers_only

LOG_ENTRIES_SHOWN = 25


def _invalid_link(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 that leaves the session alone: a page for a browser, JSON for anything else."""
    if "text/html" not in request.headers.get("Accept", ""):
        return json_error(400, message)
    return render(
        request,
        "error.html",
        {
            "status": 400,
            "message": message,
            "back_url": reverse("qbo:settings"),
            "back_text": "Back to QuickBooks settings",
        },
        status=400,
    )


@login_required
@require_GET
def settings_quickbooks(request: HttpRequest) -> HttpResponse:
    return _settings_page(request, latest_connection())


def _settings_page(request: HttpRequest, conn, rules_form: CompanyRulesForm | None = None, **cards) -> HttpResponse:
    """The Settings page; a card's bound form with errors (`cards`, e.g. `broker_form`) answers 400 with it."""
    profile = profile_for(conn.realm_id) if conn else None
    return render(
        request,
        "qbo_integration/settings.html",
        {
            "conn": conn,
            "status": connection.status_json(),
            "can_manage": can_manage_quickbooks(request.user),
            "linked_ids_exist": connection.linked_ids_exist(),
            "log_entries": IntegrationLog.objects.select_related("user")[:LOG_ENTRIES_SHOWN],
            "environment": endpoints(),
            "demo_waiting": demo.demo_documents_waiting(),
            "profile": profile,
            "profile_facts": profile_facts(profile) if profile and profile.pk else [],
            "rules_form": rules_form or (_rules_form(conn) if conn else None),
            **cards,
        },
        status=400 if rules_form is not None or cards else 200,
    )


def _rules_form(conn, data=None) -> CompanyRulesForm:
    """The rules form for the connected company's sales tax: its tax codes listed for the default (adapt/tax.py)."""
    tax = tax_context() if current_connection() == conn else None
    mode = tax.mode if tax else "none"
    codes, missing = company_tax_codes(tax) if mode == GLOBAL else ([], "")
    return CompanyRulesForm(data, instance=conn, sales_tax=mode, tax_codes=codes, tax_codes_missing=missing)


@login_required
@require_POST
@managers_only("change the company rules", back="qbo:settings")
def company_rules(request: HttpRequest) -> HttpResponse:
    conn = latest_connection()
    if conn is None:
        messages.error(request, "Connect QuickBooks before choosing its rules.")
        return redirect("qbo:settings")
    form = _rules_form(conn, request.POST)
    if not form.is_valid():
        return _settings_page(request, conn, form)
    # Only the rules: the row also holds the tokens and state, which a refresh may have changed meanwhile.
    form.save(commit=False)
    conn.save(update_fields=[*form.Meta.fields, "updated_at"])
    messages.success(request, "Company rules saved.")
    return redirect(f"{reverse('qbo:settings')}#company-rules")


@api_permission_required(MANAGE_PERMISSION, "Only admins can connect QuickBooks.")
@require_GET
def connect(request: HttpRequest) -> HttpResponse:
    try:
        url = connection.oauth_start(session=request.session)
    except QboError as e:
        messages.error(request, e.message)
        return redirect("qbo:settings")
    return redirect(url)


@api_permission_required(MANAGE_PERMISSION, "Only admins can connect QuickBooks.")
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    try:
        conn = connection.oauth_callback(session=request.session, params=request.GET, user=request.user)
    except connection.InvalidCallback as e:
        return _invalid_link(request, str(e))
    except connection.ConnectError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"Connected to QuickBooks company “{conn.company_name or conn.realm_id}”.")
    return redirect("qbo:settings")


@login_required
@require_POST
@managers_only("clear QuickBooks ids", back="qbo:settings")
def clear_ids(request: HttpRequest) -> HttpResponse:
    if current_connection() is not None:
        messages.error(request, "Disconnect QuickBooks before clearing its ids.")
        return redirect("qbo:settings")
    if request.POST.get("confirm") != "CLEAR":
        messages.error(
            request, "Type CLEAR to confirm: this forgets every QuickBooks id on accounts, products and orders."
        )
        return redirect("qbo:settings")
    counts = connection.clear_linked_ids(user=request.user)
    messages.success(
        request,
        f"Cleared QuickBooks ids: {counts['accounts']} accounts, {counts['products']} products, "
        f"{counts['orders']} orders.",
    )
    return redirect("qbo:settings")


@login_required
@require_POST
@managers_only("load the demo documents", back="qbo:settings")
def demo_documents(request: HttpRequest) -> HttpResponse:
    try:
        lines = demo.demo_documents_load(by=request.user)
    except QboError as e:
        messages.error(request, e.message)
        return redirect("qbo:settings")
    for line in lines:
        messages.info(request, line)
    return redirect("qbo:settings")
