"""Every change to the inventory: products, model versions, deployments, documents.

Each service takes the acting user, checks the rules, writes in one transaction
and is audited (``AuditedModel``).  Bad input raises :class:`InventoryError` (a
``ValueError``) naming the rule and, where one applies, the practice parameter's
clause; nothing is written.  Lifecycle moves are in ``radgov.inventory.lifecycle``.

One module per kind of record; ``common`` holds who may change the inventory and the
checks the services share, ``errors`` what they refuse with.  Import from this package.
"""

from radgov.inventory.lifecycle import LifecycleError, NotPermitted
from radgov.inventory.services.common import can_change, can_upload
from radgov.inventory.services.deployments import (
    DEPLOYMENT_FIELDS,
    DEPLOYMENT_PEOPLE,
    create_deployment,
    propose_upgrade,
    update_deployment,
)
from radgov.inventory.services.documents import PDF_MAGIC, upload_document
from radgov.inventory.services.errors import InventoryError
from radgov.inventory.services.products import (
    FDA_NUMBER,
    PRODUCT_FIELDS,
    add_representative,
    company_named,
    create_product,
    remove_representative,
    update_product,
)
from radgov.inventory.services.versions import (
    VERSION_FIELDS,
    add_model_version,
    update_model_version,
)

__all__ = [
    "DEPLOYMENT_FIELDS",
    "DEPLOYMENT_PEOPLE",
    "FDA_NUMBER",
    "PDF_MAGIC",
    "PRODUCT_FIELDS",
    "VERSION_FIELDS",
    "InventoryError",
    "LifecycleError",
    "NotPermitted",
    "add_model_version",
    "add_representative",
    "can_change",
    "can_upload",
    "company_named",
    "create_deployment",
    "create_product",
    "propose_upgrade",
    "remove_representative",
    "update_deployment",
    "update_model_version",
    "update_product",
    "upload_document",
]
