from django.apps import AppConfig

from kadouri.display import use_home_currency


class QboIntegrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "qbo_integration"
    verbose_name = "QuickBooks integration"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .adapt.currency import home_currency_code

        use_home_currency(home_currency_code)  # amounts without a currency are in the company's home currency
