"""The QuickBooks request budget every process shares (qbo_integration/connection/budget/in_postgres.py): one row
per admitted request, per company. PostgreSQL only — on SQLite the budget is counted per process — and unlogged:
a budget is worth nothing after a crash, and skipping the write-ahead log keeps each request's cost small."""

from django.db import migrations

CREATE = [
    """
    CREATE UNLOGGED TABLE IF NOT EXISTS quickbooks_request_budget (
        id bigserial PRIMARY KEY,
        realm_id varchar(32) NOT NULL,
        sent_at double precision NOT NULL,
        is_batch boolean NOT NULL DEFAULT false,
        held_until double precision NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS quickbooks_request_budget_realm_sent ON quickbooks_request_budget (realm_id, sent_at)",
    # In flight: released slots are 0, so the slots still held stay a small index.
    "CREATE INDEX IF NOT EXISTS quickbooks_request_budget_realm_held ON quickbooks_request_budget (realm_id, held_until)"
    " WHERE held_until > 0",
]
DROP = ["DROP TABLE IF EXISTS quickbooks_request_budget"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("qbo_integration", "0013_beyond_the_spec")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
