from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "radgov.inventory"
    label = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the inventory's own lifecycle guards (IFU, output-release policy, pilot group,
        # qualified end-users, local acceptance testing) register here, once
        from radgov.inventory import lifecycle

        lifecycle.register_inventory_guards()
