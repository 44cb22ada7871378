from django.apps import AppConfig


class QboIntegrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "qbo_integration"
    verbose_name = "QuickBooks integration"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
