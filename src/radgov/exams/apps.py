from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "radgov.exams"
    label = "exams"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Exams and AI inferences"
