from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "radgov.compliance"
    label = "compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the system checks of the de-identification options and the networks, and the
        # conformance audit's line for the Notice of Privacy Practices
        from radgov.compliance import conformance, deid_options, networks  # noqa: F401
