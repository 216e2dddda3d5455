from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "radgov.evaluation"
    label = "evaluation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # a passed run of a locked protocol is acceptance evidence for the lifecycle (IV.E)
        from radgov.evaluation import guards

        guards.register()
