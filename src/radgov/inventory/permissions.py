"""Who may use the inventory's routes.

Everyone logged in reads the inventory (it holds no patient data); a vendor account
reads only its own company's products, which the selectors decide per object (404 for
the rest).  Changes are offered to every role but the vendor's; the services then admit
administrators, imaging informatics and governance-group members (a capacity, not
a role, so it is checked there), and lifecycle moves only governance-group members
and administrators.  Documents are uploaded by administrators and informatics.  A machine
holding ``inventory.suspend_on_alarm`` may suspend a deployment whose governance group
allowed it to, and nothing else."""

from __future__ import annotations

from radgov.core.policy import Grant, Rule, anyone, grant, machines, only
from radgov.core.roles import Role

NOT_VENDOR = tuple(r for r in Role if r != Role.VENDOR)
UPLOADERS = (Role.ADMINISTRATOR, Role.INFORMATICS)


def editors() -> Rule:
    return only(*NOT_VENDOR)


RULES: dict[str, Rule] = {
    # pages
    "inventory:products": anyone(),
    "inventory:product": anyone(),
    "inventory:product_new": editors(),
    "inventory:product_edit": editors(),
    "inventory:version": anyone(),
    "inventory:version_new": editors(),
    "inventory:version_edit": editors(),
    "inventory:calculator": anyone(),
    "inventory:model_card": anyone(),
    "inventory:model_card_json": anyone(),
    "inventory:document": anyone(),  # the IFU is readable by the model's end-users (IV.F.2)
    "inventory:document_new": only(*UPLOADERS),
    "inventory:deployments": anyone(),
    "inventory:deployment": anyone(),
    "inventory:deployment_new": editors(),
    "inventory:deployment_edit": editors(),
    "inventory:deployment_transition": editors(),
    "inventory:deployment_upgrade": editors(),
    "inventory:companies": editors(),
    "inventory:company_representative": only(Role.ADMINISTRATOR),
    # API.  A path shared by GET and POST resolves to its first operation's name, so the
    # two rules must agree: creating products and versions is ruled like reading them,
    # and the services refuse (403) everyone but the inventory's keepers.
    "api:inventory_list_products": anyone(),
    "api:inventory_create_product": editors(),
    "api:inventory_get_product": anyone(),
    "api:inventory_update_product": editors(),
    "api:inventory_list_versions": anyone(),
    "api:inventory_create_version": editors(),
    "api:inventory_get_version": anyone(),
    "api:inventory_update_version": editors(),
    "api:inventory_model_card": anyone(),
    "api:inventory_upload_document": only(*UPLOADERS),
    "api:inventory_list_deployments": anyone(),
    "api:inventory_create_deployment": editors(),
    "api:inventory_get_deployment": anyone(),
    "api:inventory_update_deployment": editors(),
    "api:inventory_transition_deployment": editors(),
    "api:inventory_propose_upgrade": editors(),
    "api:inventory_evaluate_criteria": anyone(),
    "api:inventory_list_companies": editors(),
    "api:inventory_add_representative": only(Role.ADMINISTRATOR),
    "api:inventory_remove_representative": only(Role.ADMINISTRATOR),
    # suspension by a monitoring alarm (IV.G): the governance group allows it (the service
    # admits governance-group members and administrators), the alarm's machine acts on it
    "api:inventory_allow_alarm_suspension": editors(),
    "api:inventory_withdraw_alarm_suspension": editors(),
    "api:inventory_suspend_on_alarm": machines("inventory.suspend_on_alarm"),
}

GRANTS: dict[str, Grant] = {
    "inventory.suspend_on_alarm": grant(
        "suspend a deployment when its alarm fires, where the governance group allowed this "
        "machine to (IV.G); resuming stays a person's decision",
        "task",
        "api_client",
    ),
}
