"""Push all pending orders to QuickBooks (the "Push all pending" button, from a shell or cron)."""

from django.core.management.base import BaseCommand, CommandError

from qbo_integration.bulk.outcomes import pending_orders
from qbo_integration.bulk.push import bulk_push_run
from qbo_integration.client.errors import QboError
from qbo_integration.connection.vault import usable_connection
from qbo_integration.models import BulkPush


class Command(BaseCommand):
    help = "Pushes draft orders marked ready and posted orders changed since their last push, in batches."

    def handle(self, *args, **options):
        pending = pending_orders()
        if not pending:
            self.stdout.write("Nothing to push.")
            return
        try:
            usable_connection()
        except QboError as e:
            raise CommandError(e.message) from None
        if BulkPush.objects.filter(state__in=[BulkPush.State.QUEUED, BulkPush.State.RUNNING]).exists():
            raise CommandError("A push is already running; see Settings → QuickBooks → Push all pending.")
        bulk = BulkPush.objects.create(total=len(pending))
        bulk = bulk_push_run(bulk_id=bulk.pk)
        self.stdout.write(f"{bulk.get_state_display()}: {bulk.message}")
        if bulk.state == BulkPush.State.FAILED:
            raise CommandError(bulk.message)
