"""Give the demo orders their QuickBooks documents through the real services (QuickBooks must be connected)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from qbo_integration.client.errors import QboError
from qbo_integration.demo import demo_documents_load


class Command(BaseCommand):
    help = (
        "Create the demo orders' QuickBooks documents: an estimate, an invoice, a voided invoice and "
        "(against the emulator) a paid invoice. Connect QuickBooks first."
    )

    def handle(self, *args, **options):
        by = get_user_model().objects.filter(username="admin").first()
        try:
            lines = demo_documents_load(by=by)
        except QboError as e:
            raise CommandError(f"{e.message} (Settings → QuickBooks Integration → Connect to QuickBooks)") from None
        for line in lines:
            self.stdout.write(line)
