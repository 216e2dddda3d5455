from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "radgov.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"
