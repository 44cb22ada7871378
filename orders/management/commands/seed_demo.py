"""Demo data for a fresh install. Safe to run again: nothing is duplicated."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from orders.models import Order
from orders.services import LineInput, order_create, order_set_status
from products.models import Product

DEMO_PASSWORD = "kadouri-demo"

ACCOUNTS = [
    ("Green Valley Farms", "GVF", "orders@greenvalley.example", "Fresno", "CA"),
    ("Sunrise Orchards", "SUN", "sales@sunrise.example", "Yakima", "WA"),
    ("Harbor Fresh Market", "HFM", "buying@harborfresh.example", "Boston", "MA"),
    ("Metro Grocers", "MET", "ap@metrogrocers.example", "Chicago", "IL"),
    ("Lakeside Restaurants", "LAK", "purchasing@lakeside.example", "Madison", "WI"),
    ("Desert Sun Produce", "DSP", "hello@desertsun.example", "Yuma", "AZ"),
]
PRODUCTS = [
    ("Gala Apples", "APL-GALA", "case", "32.50"),
    ("Honeycrisp Apples", "APL-HONEY", "case", "48.00"),
    ("Bartlett Pears", "PER-BART", "case", "36.75"),
    ("Romaine Hearts", "LET-ROM", "case", "24.00"),
    ("Roma Tomatoes", "TOM-ROMA", "lb", "1.15"),
    ("Navel Oranges", "ORG-NAV", "case", "29.90"),
    ("Russet Potatoes", "POT-RUS", "lb", "0.45"),
    ("Avocados Hass", "AVO-HASS", "case", "52.00"),
]
# (number, seller, buyer, status, [(product index, qty, size, grade)])
ORDERS = [
    ("DEMO-0001", "GVF", "HFM", Order.Status.DRAFT, [(0, 40, "88ct", "Extra Fancy"), (3, 25, "24ct", "No. 1")]),
    ("DEMO-0002", "SUN", "MET", Order.Status.DRAFT, [(1, 30, "80ct", "Fancy")]),
    ("DEMO-0003", "DSP", "LAK", Order.Status.POSTED_TO_QB, [(4, 500, "", "No. 1"), (7, 12, "48ct", "No. 1")]),
    ("DEMO-0004", "GVF", "MET", Order.Status.PAID, [(5, 60, "72ct", "Fancy")]),
    ("DEMO-0005", "SUN", "HFM", Order.Status.CANCELLED, [(2, 18, "90ct", "US No. 1"), (6, 1000, "", "No. 2")]),
]


DRAFT_OR_CANCELLED = {Order.Status.DRAFT, Order.Status.CANCELLED}


class Command(BaseCommand):
    help = "Create demo accounts, products, orders and logins (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        staff, admin = self._users()
        accounts = {code: self._account(*row) for row in ACCOUNTS for code in [row[1]]}
        products = [self._product(*row) for row in PRODUCTS]
        created = sum(self._order(row, accounts, products, staff) for row in ORDERS)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready ({created} new orders). Log in as staff / {DEMO_PASSWORD} "
            f"(or admin / {DEMO_PASSWORD} for Django admin and QuickBooks settings)."
        ))

    def _users(self):
        User = get_user_model()
        staff, new = User.objects.get_or_create(username="staff", defaults={"first_name": "Sam", "last_name": "Staff"})
        if new:
            staff.set_password(DEMO_PASSWORD)
            staff.save()
        admin, new = User.objects.get_or_create(
            username="admin", defaults={"first_name": "Ada", "last_name": "Admin", "is_staff": True, "is_superuser": True}
        )
        if new:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        return staff, admin

    def _account(self, name, code, email, city, region) -> Account:
        account, _ = Account.objects.get_or_create(
            code=code, defaults={"name": name, "email": email, "city": city, "region": region,
                                 "address_line1": "1 Market Street", "postal_code": "00000", "phone": "555-0100"}
        )
        return account

    def _product(self, name, sku, unit, price) -> Product:
        product, _ = Product.objects.get_or_create(name=name, defaults={"sku": sku, "unit": unit, "unit_price": Decimal(price)})
        return product

    def _order(self, row, accounts, products, staff) -> bool:
        number, seller, buyer, status, lines = row
        if Order.objects.filter(number=number).exists():
            return False
        order = order_create(
            fields={"number": number, "seller": accounts[seller], "buyer": accounts[buyer],
                    "order_date": timezone.localdate() - timedelta(days=len(number) + int(number[-1])),
                    "terms": Order.Terms.NET_30, "commission_rate": Decimal("5.00"),
                    "notes": "Demo order" if status in DRAFT_OR_CANCELLED else
                    "Demo order: its status was set by the demo data, not by QuickBooks (no invoice exists)."},
            lines=[LineInput(product=products[i], quantity=Decimal(q), size=s, grade=g) for i, q, s, g in lines],
            by=staff,
        )
        if status != Order.Status.DRAFT:
            order_set_status(order=order, status=status, user_name="Demo data", reason="demo data")
        return True
