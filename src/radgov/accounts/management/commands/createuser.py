from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from radgov.accounts import services
from radgov.accounts.forms import UserForm
from radgov.core.audit import Action, record
from radgov.core.context import ActingContext, acting_as
from radgov.core.roles import Role


class Command(BaseCommand):
    help = "Create an account with one role; prints a one-time password. The person enrolls MFA at first login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help="one of: " + ", ".join(Role.values))
        parser.add_argument("--email", default="")
        parser.add_argument("--governance-member", action="store_true")
        parser.add_argument("--clinical-champion", action="store_true")
        parser.add_argument(
            "--license",
            dest="license_number",
            default="",
            help="a physician's license to practise (III.A.1)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        with acting_as(ActingContext(channel="cli")):
            try:
                # the same fields as the Users page's form
                user, password = services.create_user(
                    **{name: opts[name] for name in UserForm.base_fields}
                )
            except services.AccountError as exc:
                record(
                    action=Action.DENIED,
                    outcome="failure",
                    detail={"command": "createuser", "reason": str(exc)},
                )
                raise CommandError(str(exc)) from None
        self.stdout.write(f"Created {user.username} ({user.role_label}).")
        self.stdout.write(f"One-time password: {password}")
        self.stdout.write(
            "At first login they must enroll an authenticator app (TOTP) before anything else."
        )
