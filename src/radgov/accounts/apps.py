from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "radgov.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from radgov.accounts import signals  # noqa: F401
