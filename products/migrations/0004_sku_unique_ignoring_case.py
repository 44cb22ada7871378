import django.db.models.functions.text
from django.db import migrations, models


def keep_duplicate_skus_apart(apps, schema_editor):
    """Products saved before SKUs were unique may share one: the oldest keeps it, each later one gets a
    numbered suffix (SKU-2, SKU-3…) so the constraint can be added and nothing typed is lost."""
    Product = apps.get_model("products", "Product")
    taken = set()
    for product in Product.objects.exclude(sku="").order_by("pk"):
        key = product.sku.lower()
        if key not in taken:
            taken.add(key)
            continue
        suffix = 2
        while f"{product.sku}-{suffix}"[:50].lower() in taken:
            suffix += 1
        product.sku = f"{product.sku}-{suffix}"[:50]
        taken.add(product.sku.lower())
        product.save(update_fields=["sku"])


class Migration(migrations.Migration):

    dependencies = [
        ('products', '0003_text_rule'),
    ]

    operations = [
        migrations.RunPython(keep_duplicate_skus_apart, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='product',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('sku'), condition=models.Q(('sku', ''), _negated=True), name='product_sku_unique_ignoring_case', violation_error_message='Another product already has this SKU.'),
        ),
    ]
