"""What the governance services refuse with."""

from __future__ import annotations

from radgov.core.errors import Denied, Refused


class GovernanceError(Refused):
    """A governance request that breaks a rule; the message says which."""


class GovernancePermissionError(GovernanceError, Denied):
    """The acting person lacks the role or capacity the action needs."""
