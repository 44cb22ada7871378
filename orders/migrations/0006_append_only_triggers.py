"""PostgreSQL refuses changes to the audit tables too, whoever connects (a psql session, a raw query, a manager
that bypasses the model's guard). The one change allowed: a link to a deleted order or user becoming NULL (the
ON DELETE SET NULL of those foreign keys). TRUNCATE stays possible (test databases are flushed with it).
SQLite has no such trigger: Django flushes SQLite test databases with DELETE."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION kadouri_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    detachable text[] := TG_ARGV;
    col text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% is append-only: rows cannot be deleted', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END IF;
    IF (to_jsonb(NEW) - detachable) IS DISTINCT FROM (to_jsonb(OLD) - detachable) THEN
        RAISE EXCEPTION '% is append-only: rows cannot be changed', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END IF;
    FOREACH col IN ARRAY detachable LOOP
        IF (to_jsonb(NEW) -> col) IS DISTINCT FROM (to_jsonb(OLD) -> col) AND (to_jsonb(NEW) -> col) <> 'null'::jsonb THEN
            RAISE EXCEPTION '% is append-only: % can only be emptied', TG_TABLE_NAME, col USING ERRCODE = 'restrict_violation';
        END IF;
    END LOOP;
    RETURN NEW;
END $$;
"""
TABLES = {"order_activities": ("order_id", "user_id"), "quickbooks_integration_log": ("user_id",)}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # "%" in RAISE is not a placeholder
    for table, detachable in TABLES.items():
        args = ", ".join(f"'{column}'" for column in detachable)
        schema_editor.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                              f"FOR EACH ROW EXECUTE FUNCTION kadouri_append_only({args})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS kadouri_append_only()")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_append_only_audit"),
        ("qbo_integration", "0007_bulk_push_retrying"),
    ]

    operations = [migrations.RunPython(create, drop)]
