"""Append-only models: audit rows (the order activity log, the integration log) are written once and never
changed or deleted through the ORM — not by a view, the admin, a shell session or a bulk queryset call.

The guard sits on the default manager (`objects`) and on the instance. Django's deletion collector uses the
plain base manager, so deleting a *related* row can still detach audit rows through their own `SET_NULL`
foreign keys (a deleted draft order or user); the rows themselves and their text stay.
"""

from django.apps import apps
from django.db import models


class AppendOnlyError(Exception):
    """An audit row was about to be changed or deleted."""


def _refuse(model, what: str):
    raise AppendOnlyError(f"{model._meta.verbose_name_plural} are append-only: they cannot be {what}.")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        _refuse(self.model, "updated")

    def delete(self):
        _refuse(self.model, "deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        _refuse(self.model, "updated")

    def update_or_create(self, defaults=None, create_defaults=None, **kwargs):
        _refuse(self.model, "updated")

    def _raw_delete(self, using):  # delete() without signals; reachable from a shell
        _refuse(self.model, "deleted")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            _refuse(type(self), "changed once written")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse(type(self), "deleted")


def append_only_models() -> list[type[models.Model]]:
    """Every installed append-only model (the admin and the tests sweep this list)."""
    return [model for model in apps.get_models() if issubclass(model, AppendOnlyModel)]
