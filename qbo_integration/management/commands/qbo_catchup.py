"""Catch up with QuickBooks now: CDC since the stored watermark (or a full re-read), per company."""

from django.core.management.base import BaseCommand, CommandError

from qbo_integration.inbound.catchup import catchup_run
from qbo_integration.models import QboConnection


class Command(BaseCommand):
    help = "Run the QuickBooks CDC catch-up for every connected company (or one with --realm)."

    def add_arguments(self, parser):
        parser.add_argument("--realm", help="Only this company (realm id).")
        parser.add_argument("--full", action="store_true", help="Re-read every linked document instead of CDC.")

    def handle(self, *args, realm=None, full=False, **options):
        realms = QboConnection.objects.filter(state=QboConnection.State.CONNECTED)
        if realm:
            realms = realms.filter(realm_id=realm)
        realm_ids = list(realms.values_list("realm_id", flat=True))
        if not realm_ids:
            raise CommandError("No connected QuickBooks company" + (f" with realm {realm}." if realm else "."))
        failed = False
        for realm_id in realm_ids:
            run = catchup_run(realm_id=realm_id, full=full)
            if run.error:
                failed = True
                self.stderr.write(f"{realm_id}: {run.mode} catch-up failed: {run.error}")
                continue
            counts = ", ".join(
                f"{n} {k}" for k, n in run.found.items() if k not in ("changes", "new_events", "processed")
            )
            self.stdout.write(
                f"{realm_id}: {run.mode} catch-up since {run.changed_since:%Y-%m-%d %H:%M:%S} found {counts}; "
                f"{run.found.get('new_events', 0)} new, {run.found.get('processed', 0)} processed."
            )
            for change in run.found.get("changes", []):
                self.stdout.write(f"  - {change}")
        if failed:
            raise CommandError("At least one catch-up failed; the watermark was kept, the next run retries.")
