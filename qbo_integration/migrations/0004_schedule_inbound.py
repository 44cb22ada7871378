from django.db import migrations

# Inbox retries become due on their own clock; CDC catch-up finds what webhooks missed
# (docs/quickbooks/webhooks.md#delivery).
SCHEDULES = [
    ("qbo_integration.tasks.qbo_inbox_process_due", "QuickBooks: retry due inbox events", 1),
    ("qbo_integration.tasks.qbo_catchup_all", "QuickBooks: CDC catch-up", 10),
]


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for func, name, minutes in SCHEDULES:
        Schedule.objects.get_or_create(
            func=func, defaults={"name": name, "schedule_type": "I", "minutes": minutes, "repeats": -1}
        )


def delete_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func__in=[func for func, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("qbo_integration", "0003_inbound_state"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedules, delete_schedules)]
