from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "radgov.training"
    label = "training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # no pilot or deployment without a training procedure; no pilot with untrained users
        from radgov.training import guards

        guards.register()
