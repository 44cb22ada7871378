from django.db import migrations

# The outbound drain (sync.qbo_jobs_process_due): runs due retries and reclaims jobs left `running` by a worker
# that died. It must exist from the start, not only after the first retry queued one (sync._schedule).
TASK = "qbo_integration.tasks.qbo_drain_due_jobs"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    if not Schedule.objects.filter(func=TASK).exists():
        Schedule.objects.create(func=TASK, name="qbo-drain", schedule_type="I", minutes=1, repeats=-1)


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [("qbo_integration", "0004_schedule_inbound"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedule, delete_schedule)]
