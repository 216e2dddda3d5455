from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "radgov.exams"
    label = "exams"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Exams and AI inferences"

    def ready(self) -> None:
        from radgov.exams import moves
        from radgov.exams.services.review import release_guard
        from radgov.exams.statuses import Status

        moves.register_guard(Status.RELEASED, release_guard)  # V: review before release
