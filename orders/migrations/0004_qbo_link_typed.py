
from django.conf import settings
from django.db import migrations, models

import kadouri.text


def give_every_link_its_type(apps, schema_editor):
    """Before this migration an order could hold a QuickBooks id with no type; such links were invoices."""
    Order = apps.get_model("orders", "Order")
    Order.objects.filter(qbo_doc_id="").update(qbo_doc_id=None)
    Order.objects.filter(qbo_doc_id__isnull=False, qbo_doc_type="").update(qbo_doc_type="invoice")
    Order.objects.filter(qbo_doc_id__isnull=True).exclude(qbo_doc_type="").update(qbo_doc_type="")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_qbo_create_request'),
        ('orders', '0003_text_rule'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(give_every_link_its_type, migrations.RunPython.noop),
        migrations.AddField(
            model_name='order',
            name='qbo_link_problem',
            field=models.CharField(blank=True, help_text="Set when the QuickBooks document at this id is not the order's own (another number): Kadouri then applies nothing from it and sends nothing to it.", max_length=500, validators=[kadouri.text.validate_single_line]),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('qbo_doc_id__isnull', True), ('qbo_doc_type', '')), models.Q(('qbo_doc_id__isnull', False), ('qbo_doc_type__in', ['invoice', 'estimate']), models.Q(('qbo_doc_id', ''), _negated=True)), _connector='OR'), name='order_qbo_id_has_its_type'),
        ),
    ]
