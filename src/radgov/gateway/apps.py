from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "radgov.gateway"
    label = "gateway"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from radgov.core import config, processes

        # radgov serve starts the DICOM and MLLP listeners beside the web server when their
        # ports are set
        processes.register(
            name="gateway-dicom",
            argv=["gateway", "dicom"],
            enabled=lambda: bool(config.get("RADGOV_DICOM_PORT")),
        )
        processes.register(
            name="gateway-mllp",
            argv=["gateway", "mllp"],
            enabled=lambda: bool(config.get("RADGOV_MLLP_PORT")),
        )
