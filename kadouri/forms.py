"""Form fields shared by the apps."""

from decimal import Decimal

from django import forms

from .display import plain


class PlainDecimalField(forms.DecimalField):
    """A quantity or a rate shown as people write it: a stored 12.000 is offered for editing as 12, 4.50 as 4.5.
    (What someone typed is shown back unchanged.)"""

    def prepare_value(self, value):
        return plain(value) if isinstance(value, Decimal) else super().prepare_value(value)
