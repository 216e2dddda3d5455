"""What the inventory services refuse with (lifecycle moves refuse with
``radgov.inventory.lifecycle.LifecycleError`` and ``NotPermitted``)."""

from __future__ import annotations

from radgov.core.errors import Refused


class InventoryError(Refused):
    """Bad input to an inventory service; the message names the rule."""
