from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "radgov.compliance"
    label = "compliance"
    default_auto_field = "django.db.models.BigAutoField"
