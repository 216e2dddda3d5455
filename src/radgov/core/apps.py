from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "radgov.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from radgov.core import checks  # noqa: F401  (registers the key-file system check)
