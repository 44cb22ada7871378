"""Settings → QuickBooks → "The account code in QuickBooks": which custom fields carry the buyer's account code and
the seller (docs/quickbooks/beyond.md#the-account-code-in-quickbooks). Admins only; the card itself is rendered on the
Settings page by `{% qbo_custom_fields_card %}`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..connection.vault import latest_connection
from ..custom_field_forms import CustomFieldsForm
from ..outbound.custom_fields import CustomFieldsRefused, custom_fields_choose
from ..selectors.custom_fields import custom_fields_card
from .access import managers_only


def _saved_message(count: int) -> str:
    if not count:
        return "Custom fields saved."
    orders = "order is" if count == 1 else "orders are"
    return (
        f"Custom fields saved. {count} posted {orders} now out of date in QuickBooks: “Push all pending” sends them "
        "with the new fields."
    )


@login_required
@require_POST
@managers_only("choose the custom fields", back="qbo:settings")
def custom_fields_save(request: HttpRequest) -> HttpResponse:
    conn = latest_connection()
    if conn is None:
        messages.error(request, "Connect QuickBooks before choosing its custom fields.")
        return redirect("qbo:settings")
    card = custom_fields_card(conn)
    form = CustomFieldsForm(request.POST, fields=card.fields)
    if form.is_valid():
        try:
            count = custom_fields_choose(realm_id=conn.realm_id, **form.cleaned_data)
        except CustomFieldsRefused as e:  # the company's fields changed between the page and the service
            form.add_error(None, str(e))
        else:
            messages.success(request, _saved_message(count))
            return redirect(f"{reverse('qbo:settings')}#custom-fields")
    context = {"card": card, "form": form, "can_manage": True}
    return render(request, "qbo_integration/custom_fields.html", context, status=400)
