from __future__ import annotations

import importlib
import importlib.util
from io import StringIO
from typing import Any

from django.core.management.base import BaseCommand, OutputWrapper

from radgov.accounts import services
from radgov.accounts.models import User
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import AuditEntry
from radgov.core.policy import DOMAIN_APPS
from radgov.core.roles import Role
from radgov.core.schema import bring_up_to_date

MAX_PASSES = 6
DEMO_PASSWORD = "radgov-demo-2026"  # noqa: S105 - a published demo password, for the demo practice only

# One person per role of section III, plus the two capacities.
# Physicians carry a (made-up) license to practise: a qualified end-user needs one (III.A.1).
DEMO_PEOPLE = [
    ("admin", Role.ADMINISTRATOR, {}),
    ("dr.chen", Role.PHYSICIAN, {"governance_member": True, "license_number": "CA A-DEMO-1001"}),
    ("dr.okafor", Role.PHYSICIAN, {"clinical_champion": True, "license_number": "CA A-DEMO-1002"}),
    ("physicist", Role.MEDICAL_PHYSICIST, {"governance_member": True}),
    ("informatics", Role.INFORMATICS, {"governance_member": True}),
    ("datasci", Role.DATA_SCIENTIST, {}),
    ("tech", Role.TECHNOLOGIST, {}),
    ("vendor.rep", Role.VENDOR, {}),
    ("privacy", Role.COMPLIANCE, {"governance_member": True}),
]


class Command(BaseCommand):
    help = (
        "Load the demo practice (idempotent: running it twice changes nothing); "
        "migrates the database first."
    )

    def handle(self, *args: Any, **opts: Any) -> None:
        bring_up_to_date()
        created = 0
        with acting_as(ActingContext(channel="cli")):
            for username, role, capacities in DEMO_PEOPLE:
                if User.objects.filter(username=username).exists():
                    continue
                services.create_user(
                    username,
                    role=role.value,
                    email=f"{username}@demo.invalid",
                    password=DEMO_PASSWORD,
                    **capacities,
                )
                created += 1
            # then each domain app's part of the demo practice (radgov/<app>/demo.py,
            # ``load(stdout)``).  The parts build on each other both ways (a deployment
            # moves to pilot only once the group approved it and its users are trained),
            # so the loaders run again until a pass changes nothing; every change is
            # audited, so an unchanged trail means a finished practice.
            for _ in range(MAX_PASSES):
                before = AuditEntry.objects.count()
                said = StringIO()  # only the last pass's account of the practice is shown
                for app in DOMAIN_APPS:
                    if importlib.util.find_spec(f"radgov.{app}.demo") is not None:
                        importlib.import_module(f"radgov.{app}.demo").load(OutputWrapper(said))
                if AuditEntry.objects.count() == before:
                    break
        self.stdout.write(said.getvalue().rstrip("\n"))
        self.stdout.write(
            f"Demo practice ready ({created} accounts created, {len(DEMO_PEOPLE) - created} already there)."
        )
        self.stdout.write("Log in at http://127.0.0.1:8000/ as one of:")
        for username, role, _ in DEMO_PEOPLE:
            self.stdout.write(f"  {username:<12} {role.label}")
        self.stdout.write(
            f"with the password {DEMO_PASSWORD!r}. At first login you set up an authenticator app"
        )
        self.stdout.write("(any TOTP app: scan the QR code, or type the secret shown under it).")
