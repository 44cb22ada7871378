from decimal import Decimal

from django import forms
from django.conf import settings

from accounts.models import Account
from kadouri.forms import PlainDecimalField
from kadouri.text import validate_single_line
from products.models import Product
from qbo_integration.adapt import RULES_PLACE
from qbo_integration.adapt.currency import exchange_rate_problem
from qbo_integration.forms import class_field

from .models import DOC_NUMBER_MAX_LENGTH, Order
from .services import LineInput


class OrderForm(forms.ModelForm):
    number = forms.CharField(
        max_length=DOC_NUMBER_MAX_LENGTH,
        required=False,
        help_text=f"Leave blank to number it automatically. At most {DOC_NUMBER_MAX_LENGTH} characters "
        "(it becomes the QuickBooks invoice number).",
    )
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        required=False,
        min_value=0,
        error_messages={
            "invalid": "The form's version was altered; reload the order and edit again.",
            "min_value": "The form's version was altered; reload the order and edit again.",
            # Without it, the check that nobody saved the order meanwhile could not run.
            "required": "The form's version is missing; reload the order and edit again "
            "(what you typed is still shown below).",
        },
    )

    class Meta:
        model = Order
        fields = [
            "number",
            "seller",
            "buyer",
            "order_date",
            "terms",
            "commission_rate",
            "exchange_rate",
            "notes",
            "ready_to_push",
            "qbo_class_id",
        ]
        widgets = {
            "order_date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        field_classes = {"commission_rate": PlainDecimalField, "exchange_rate": PlainDecimalField}
        help_texts = {
            "exchange_rate": "Only for a buyer who pays in another currency: what one unit of the buyer's currency is "
            "worth in the QuickBooks company's home currency, e.g. 0.73. Blank: QuickBooks' rate for the order date."
        }
        error_messages = {
            "exchange_rate": {
                "invalid": "Enter the exchange rate as a number, e.g. 0.73.",
                "min_value": "The exchange rate must be more than 0.",
                "max_decimal_places": "Enter the exchange rate with at most 8 decimals.",
                "max_digits": "Enter the exchange rate with at most 10 digits before the point and 8 after it.",
                "max_whole_digits": "Enter the exchange rate with at most 10 digits before the point.",
            }
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        accounts = Account.objects.filter(active=True)
        if self.instance.pk:
            accounts = Account.objects.filter(active=True) | Account.objects.filter(
                pk__in=[self.instance.seller_id, self.instance.buyer_id]
            )
            self.fields["version"].initial = self.instance.version
            self.fields["version"].required = True  # an edit is checked against the version it started from
        self.fields["seller"].queryset = accounts.distinct()
        self.fields["buyer"].queryset = accounts.distinct()
        self.fields["seller"].empty_label = self.fields["buyer"].empty_label = "Choose an account…"
        class_field(self, "qbo_class_id", blank=f"The seller's class, else the default in {RULES_PLACE}")

    def clean(self):
        cleaned = super().clean()
        seller, buyer = cleaned.get("seller"), cleaned.get("buyer")
        if seller and buyer and seller == buyer:
            self.add_error("buyer", "The buyer must be a different account from the seller.")
        problem = exchange_rate_problem(cleaned.get("exchange_rate"), buyer)
        if problem:
            self.add_error("exchange_rate", problem)
        return cleaned

    def validate_unique(self):
        # Number uniqueness is checked by the service (numbers can be generated there).
        pass

    def header_fields(self) -> dict:
        # A field left out (no class tracking) keeps the order's stored value.
        return {name: self.cleaned_data[name] for name in OrderForm.Meta.fields if name in self.cleaned_data}


class OrderLineForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.all(),
        empty_label="Choose a product…",
        error_messages={"required": "Choose a product for this line."},
    )
    quantity = PlainDecimalField(
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001"),
        error_messages={"min_value": "The quantity must be greater than zero."},
    )
    unit_price = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text="Blank: the product's list price (only for a buyer who pays in the home currency).",
        error_messages={"min_value": "The price cannot be negative."},
    )
    size = forms.CharField(max_length=50, required=False, validators=[validate_single_line])
    grade = forms.CharField(max_length=50, required=False, validators=[validate_single_line])

    def line_input(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(
            product=data["product"],
            quantity=data["quantity"],
            unit_price=data.get("unit_price"),
            size=data.get("size", ""),
            grade=data.get("grade", ""),
        )


class BaseLineFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": "An order can have at most %(num)d lines. Remove some lines, or split the order in two.",
    }

    def _kept(self) -> list[OrderLineForm]:
        return [
            form
            for index, form in enumerate(self.forms)
            if (index < self.initial_form_count() or form.has_changed())
            and not (self.can_delete and form.cleaned_data.get("DELETE"))
        ]

    def line_inputs(self) -> list[LineInput]:
        return [form.line_input() for form in self._kept()]

    def require_unit_prices(self, problem: str) -> bool:
        """A foreign-currency order (`problem` says why, "" for none): every kept line needs its own unit price.
        False when one has none (the error is on its price)."""
        blank = [form for form in self._kept() if form.cleaned_data.get("unit_price") is None] if problem else []
        for form in blank:
            form.add_error("unit_price", problem)
        return not blank

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if not self.line_inputs():
            raise forms.ValidationError("Add at least one line.")


OrderLineFormSet = forms.formset_factory(
    # absolute_max: a forged TOTAL_FORMS otherwise builds (and re-renders) up to max_num + 1,000 forms; above
    # max_num, up to ORDER_LINES_SHOWN_BACK lines come back with the error, none of them dropped.
    OrderLineForm,
    formset=BaseLineFormSet,
    extra=1,
    can_delete=True,
    max_num=settings.ORDER_MAX_LINES,
    validate_max=True,
    absolute_max=settings.ORDER_LINES_SHOWN_BACK,
)


def initial_lines(order: Order) -> list[dict]:
    return [
        {
            "product": line.product_id,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "size": line.size,
            "grade": line.grade,
        }
        for line in order.lines.all()
    ]
