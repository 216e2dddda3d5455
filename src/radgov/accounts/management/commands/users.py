from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.table import Table

from radgov.accounts.models import User


class Command(BaseCommand):
    help = "List accounts: radgov users list"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="every account with its role, capacities and MFA state")

    def handle(self, *args: Any, **opts: Any) -> None:
        enrolled = set(
            Authenticator.objects.filter(type=Authenticator.Type.TOTP).values_list(
                "user_id", flat=True
            )
        )
        table = Table("username", "role", "capacities", "active", "MFA")
        for user in User.objects.all():
            table.add_row(
                user.username,
                user.role_label,
                ", ".join(user.capacities) or "-",
                "yes" if user.is_active else "no",
                "enrolled" if user.pk in enrolled else "not yet",
            )
        Console(file=self.stdout, width=120).print(table)
