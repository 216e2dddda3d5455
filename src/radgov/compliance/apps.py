from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "radgov.compliance"
    label = "compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from radgov.compliance import deid_options, networks  # noqa: F401  (their system checks)
