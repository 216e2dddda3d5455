"""``radgov machines list | add | grants | deactivate | credential | revoke``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from radgov.core import machines, policy
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import Machine, MachineCredential, MachineKind


class Command(BaseCommand):
    help = "Machine principals (DICOM and MLLP peers, API clients): register, grant, issue credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("list", help="every machine with its kind, grants and state")
        add = sub.add_parser("add", help="register a peer or an API client")
        add.add_argument(
            "--kind", required=True, choices=[k for k in MachineKind.values if k != "task"]
        )
        add.add_argument(
            "--name", required=True, help="e.g. dicom:PACS_MAIN, mllp:RIS, api:orchestrator"
        )
        add.add_argument("--ae-title", default="", help="a DICOM peer's calling AE title")
        add.add_argument("--address", default="", help="the address it connects from")
        add.add_argument("--application", default="", help="HL7 MSH-3^MSH-4 of an MLLP peer")
        add.add_argument("--description", default="")
        add.add_argument("--grant", action="append", default=[], dest="grants")
        grants = sub.add_parser("grants", help="set exactly the grants a machine holds")
        grants.add_argument("name")
        grants.add_argument("grant", nargs="*")
        off = sub.add_parser(
            "deactivate", help="the machine may no longer act; credentials revoked"
        )
        off.add_argument("name")
        issue = sub.add_parser("credential", help="issue an API credential to an API client")
        issue.add_argument("name")
        issue.add_argument("--label", required=True, help="where the credential is installed")
        issue.add_argument("--days", type=int, default=365)
        revoke = sub.add_parser("revoke", help="revoke a machine credential by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(ActingContext(channel="cli")):
            try:
                getattr(self, "do_" + options["subcommand"])(options)
            except (machines.MachineError, machines.NotPermitted) as exc:
                raise CommandError(str(exc)) from None

    def do_list(self, options: dict[str, Any]) -> None:
        for m in Machine.objects.all():
            state = "active" if m.is_active else "deactivated"
            held = ", ".join(sorted(policy.grants_of(m))) or "no grants"
            self.stdout.write(f"{m.name}  {m.kind}  {state}  {held}")

    def do_add(self, options: dict[str, Any]) -> None:
        m = machines.register(
            None,
            kind=options["kind"],
            name=options["name"],
            description=options["description"],
            ae_title=options["ae_title"],
            address=options["address"],
            application=options["application"],
            grants=options["grants"],
        )
        self.stdout.write(f"registered {m.name} ({m.kind})")

    def do_grants(self, options: dict[str, Any]) -> None:
        m = machines.set_grants(None, _machine(options["name"]), options["grant"])
        self.stdout.write(f"{m.name} holds: {', '.join(m.grants) or 'no grants'}")

    def do_deactivate(self, options: dict[str, Any]) -> None:
        m = machines.deactivate(None, _machine(options["name"]))
        self.stdout.write(f"{m.name} deactivated; its credentials are revoked")

    def do_credential(self, options: dict[str, Any]) -> None:
        credential, secret = machines.issue_credential(
            None, _machine(options["name"]), name=options["label"], days=options["days"]
        )
        self.stdout.write(
            f"credential {credential.prefix} for {options['name']} (expires "
            f"{credential.expires_at:%Y-%m-%d}); shown once, store it now:\n{secret}"
        )

    def do_revoke(self, options: dict[str, Any]) -> None:
        credential = MachineCredential.objects.filter(prefix=options["prefix"]).first()
        if credential is None:
            raise CommandError(f"no machine credential with prefix {options['prefix']!r}")
        machines.revoke_credential(None, credential)
        self.stdout.write(f"credential {credential.prefix} revoked")


def _machine(name: str) -> Machine:
    found = Machine.objects.filter(name=name).first()
    if found is None:
        raise CommandError(f"no machine named {name!r} (radgov machines list)")
    return found
