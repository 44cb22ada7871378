"""Demo data for a fresh install. Safe to run again: nothing is duplicated.

Demo orders are drafts: a status like "Posted to QuickBooks" or "Paid" needs its document in QuickBooks, so it is
reached the way a user reaches it — by the README's tour, or by `manage.py qbo_demo_documents` (Settings →
QuickBooks → Load demo documents) once QuickBooks is connected."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from orders.models import Order
from orders.services import LineInput, order_create, order_set_status, order_update
from products.models import Product
from qbo_integration.invariants import order_invariant_violations

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
# (number, seller, buyer, [(product index, qty, size, grade)]); what qbo_demo_documents makes of each is in
# qbo_integration/demo.py.
ORDERS = [
    ("DEMO-0001", "GVF", "HFM", [(0, 40, "88ct", "Extra Fancy"), (3, 25, "24ct", "No. 1")]),
    ("DEMO-0002", "SUN", "MET", [(1, 30, "80ct", "Fancy")]),
    ("DEMO-0003", "DSP", "LAK", [(4, 500, "", "No. 1"), (7, 12, "48ct", "No. 1")]),
    ("DEMO-0004", "GVF", "MET", [(5, 60, "72ct", "Fancy")]),
    ("DEMO-0005", "SUN", "HFM", [(2, 18, "90ct", "US No. 1"), (6, 1000, "", "No. 2")]),
]
# Older demo data set these statuses without a document; such an order goes back to draft when seeding again.
OLD_DEMO_NOTE = "Demo order: its status was set by the demo data"


class Command(BaseCommand):
    help = "Create demo accounts, products, orders and logins (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        staff, admin = self._users()
        accounts = {code: self._account(*row) for row in ACCOUNTS for code in [row[1]]}
        products = [self._product(*row) for row in PRODUCTS]
        created = sum(self._order(row, accounts, products, staff) for row in ORDERS)
        self._repair_old_demo_orders()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready ({created} new orders). Log in as staff / {DEMO_PASSWORD} "
                f"(or admin / {DEMO_PASSWORD} for Django admin and QuickBooks settings)."
            )
        )

    def _users(self):
        User = get_user_model()
        staff, new = User.objects.get_or_create(username="staff", defaults={"first_name": "Sam", "last_name": "Staff"})
        if new:
            staff.set_password(DEMO_PASSWORD)
            staff.save()
        admin, new = User.objects.get_or_create(
            username="admin",
            defaults={"first_name": "Ada", "last_name": "Admin", "is_staff": True, "is_superuser": True},
        )
        if new:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        return staff, admin

    def _account(self, name, code, email, city, region) -> Account:
        account, _ = Account.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "email": email,
                "city": city,
                "region": region,
                "address_line1": "1 Market Street",
                "postal_code": "00000",
                "phone": "555-0100",
            },
        )
        return account

    def _product(self, name, sku, unit, price) -> Product:
        product, _ = Product.objects.get_or_create(
            name=name, defaults={"sku": sku, "unit": unit, "unit_price": Decimal(price)}
        )
        return product

    def _order(self, row, accounts, products, staff) -> bool:
        number, seller, buyer, lines = row
        if Order.objects.filter(number=number).exists():
            return False
        order_create(
            fields={
                "number": number,
                "seller": accounts[seller],
                "buyer": accounts[buyer],
                "order_date": timezone.localdate() - timedelta(days=len(number) + int(number[-1])),
                "terms": Order.Terms.NET_30,
                "commission_rate": Decimal("5.00"),
                "notes": "Demo order",
            },
            lines=[LineInput(product=products[i], quantity=Decimal(q), size=s, grade=g) for i, q, s, g in lines],
            by=staff,
        )
        return True

    def _repair_old_demo_orders(self) -> None:
        for order in Order.objects.filter(notes__startswith=OLD_DEMO_NOTE, qbo_doc_id__isnull=True):
            if order_invariant_violations(order):
                order_set_status(
                    order=order,
                    status=Order.Status.DRAFT,
                    user_name="Demo data",
                    reason="older demo data had set a status no QuickBooks document backed",
                )
                order_update(order_id=order.pk, fields={"notes": "Demo order"}, lines=None, by=None)
