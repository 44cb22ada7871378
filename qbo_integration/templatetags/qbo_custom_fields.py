"""`{% qbo_custom_fields_card %}`: the Settings card choosing the custom fields that carry the account code and the
seller (docs/quickbooks/beyond.md#the-account-code-in-quickbooks)."""

from django import template

from ..custom_field_forms import CustomFieldsForm
from ..selectors.custom_fields import custom_fields_card

register = template.Library()


@register.inclusion_tag("qbo_integration/_custom_fields_card.html", takes_context=True)
def qbo_custom_fields_card(context):
    card = custom_fields_card(context["conn"])
    form = CustomFieldsForm(initial=card.initial, fields=card.fields) if card.available else None
    shared = {key: context.get(key) for key in ("request", "csrf_token")}
    return shared | {"card": card, "form": form, "can_manage": context.get("can_manage", False)}
