from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "radgov.governance"
    label = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import importlib.util

        # the inventory's lifecycle is where the group's guards plug in
        if importlib.util.find_spec("radgov.inventory.lifecycle") is not None:
            from radgov.governance import guards

            guards.register()
