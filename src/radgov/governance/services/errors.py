"""What the governance services refuse with."""

from __future__ import annotations


class GovernanceError(ValueError):
    """A governance request that breaks a rule; the message says which."""


class GovernancePermissionError(GovernanceError):
    """The acting person lacks the role or capacity the action needs."""
