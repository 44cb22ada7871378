"""The commission report's filters: a range of months and, optionally, one seller."""

from __future__ import annotations

import re
from datetime import date

from django import forms
from django.utils import timezone

from accounts.models import Account

from .models import EARLIEST_ORDER_DATE, latest_order_date

MAX_MONTHS = 120  # ten years on one page: enough for any question, small enough to answer at once
_MONTH = re.compile(r"(\d{4})-(\d{1,2})", re.ASCII)


def month_start(day: date, back: int = 0) -> date:
    """The first day of `day`'s month, `back` months earlier."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


class MonthField(forms.CharField):
    """A month typed as YYYY-MM (what `<input type="month">` sends), as the first day of that month."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return None
        found = _MONTH.fullmatch(text)
        if not found or not 1 <= int(found[2]) <= 12:
            raise forms.ValidationError("Enter a month as YYYY-MM, e.g. 2026-11.", code="invalid_month")
        month = date(int(found[1]), int(found[2]), 1)
        if not month_start(EARLIEST_ORDER_DATE) <= month <= month_start(latest_order_date()):
            raise forms.ValidationError(
                f"Orders are dated from {EARLIEST_ORDER_DATE.year} to {latest_order_date().year}: choose a month "
                "in between.",
                code="month_out_of_range",
            )
        return month


class CommissionFilterForm(forms.Form):
    month_from = MonthField(label="From month", required=False)
    month_to = MonthField(label="To month", required=False)
    seller = forms.ModelChoiceField(
        queryset=Account.objects.filter(orders_as_seller__isnull=False).distinct().order_by("name"),
        required=False,
        empty_label="All sellers",
        error_messages={"invalid_choice": "Choose a seller from the list."},
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        this_month = month_start(timezone.localdate())
        data["month_to"] = data.get("month_to") or this_month
        data["month_from"] = data.get("month_from") or month_start(data["month_to"], back=11)
        if data["month_from"] > data["month_to"]:
            raise forms.ValidationError("The first month comes after the last one: swap them.", code="months_reversed")
        if months_between(data["month_from"], data["month_to"]) > MAX_MONTHS:
            raise forms.ValidationError(
                f"Choose at most {MAX_MONTHS} months ({MAX_MONTHS // 12} years) at a time.", code="too_many_months"
            )
        return data
