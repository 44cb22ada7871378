"""Re-encrypts every stored QuickBooks token under the newest key in QBO_TOKEN_KEYS.

Rotation: put the new key first in QBO_TOKEN_KEYS (keep the old ones after it), deploy, run this command,
then remove the old keys.
"""

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.template.defaultfilters import pluralize

from qbo_integration.fields import reencrypt
from qbo_integration.models import QboConnection

TOKEN_COLUMNS = ("access_token", "refresh_token")


class Command(BaseCommand):
    help = "Re-encrypt every stored QuickBooks token under the newest QBO_TOKEN_KEYS key."

    @transaction.atomic
    def handle(self, *args, **options):
        table = connection.ops.quote_name(QboConnection._meta.db_table)
        rotated = 0
        with connection.cursor() as cursor:
            # FOR UPDATE: a token refresh committing meanwhile must not be overwritten by the old ciphertext.
            lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
            cursor.execute(f"SELECT id, access_token, refresh_token FROM {table}{lock}")
            for row_id, *ciphertexts in cursor.fetchall():
                new = [reencrypt(value) if value else value for value in ciphertexts]
                cursor.execute(
                    f"UPDATE {table} SET access_token = %s, refresh_token = %s WHERE id = %s", [*new, row_id]
                )
                rotated += 1
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted the tokens of {rotated} QuickBooks connection{pluralize(rotated)}.")
        )
