from django.apps import AppConfig


class QboIntegrationConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'qbo_integration'
