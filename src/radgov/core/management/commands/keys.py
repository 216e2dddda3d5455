"""``radgov keys check|init|rotate``: the key file and encryption-key rotation.

- ``check``: exit 0 when the key file loads and works, 1 with the reason otherwise.
- ``init``: create a new key file at RADGOV_KEY_FILE (never overwrites one).
- ``rotate``: add a new encryption key and re-encrypt every stored value under it;
  safe to stop and run again.

None of them prints a key or an identifier.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from radgov.core import keys


class Command(BaseCommand):
    help = "Check the key file (check), create one (init), or rotate the encryption key (rotate)."
    # These must run when the keys are missing or broken: that is what they report and fix.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{check,init,rotate}")
        sub.add_parser(
            "check", help="exit 0 if the key file is usable, 1 with the reason otherwise"
        )
        sub.add_parser("init", help="create a new key file at RADGOV_KEY_FILE; never overwrites")
        rotate = sub.add_parser("rotate", help="new encryption key; re-encrypt every stored value")
        rotate.add_argument(
            "--batch-size", type=int, default=500, help="rows per transaction (default 500)"
        )
        rotate.add_argument(
            "--resume",
            action="store_true",
            help="finish an interrupted rotation: re-encrypt to the current active key, add none",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ImproperlyConfigured as exc:  # messages name the setting, never a key
            raise CommandError(str(exc), returncode=1) from None

    def _check(self, options: dict[str, Any]) -> None:
        keys.check_keys()
        path = keys.key_file_path()
        key_id, _ = keys.active_encryption_key()
        audit_id, _ = keys.audit_signer()
        self.stdout.write(
            f"keys usable: {path}\n"
            f"  active encryption key {key_id} ({len(keys.encryption_key_ids())} in the file)\n"
            f"  audit-signing key {audit_id}"
        )
        if keys.file_permissions_too_open(path):
            self.stderr.write(f"warning: {path} is readable by other users; chmod 600 it")

    def _init(self, options: dict[str, Any]) -> None:
        path = keys.init_key_file()
        self.stdout.write(
            f"created {path} (mode 0600). Back it up: without it encrypted values are lost."
        )

    def _rotate(self, options: dict[str, Any]) -> None:
        from rich.progress import Progress

        from radgov.core.context import ActingContext, acting_as
        from radgov.core.rotation import rotate_keys

        keys.check_keys()
        with Progress(transient=True, disable=not self.stdout.isatty()) as bar:
            tasks: dict[str, Any] = {}

            def progress(label: str, done: int, total: int) -> None:
                if label not in tasks:
                    tasks[label] = bar.add_task(label, total=total)
                bar.update(tasks[label], completed=done)

            with acting_as(ActingContext(channel="cli")):
                report = rotate_keys(
                    batch_size=options["batch_size"], resume=options["resume"], progress=progress
                )
        which = "active" if options["resume"] else "new active"
        self.stdout.write(f"{which} encryption key {report.key_id}")
        for label, count in sorted(report.reencrypted.items()):
            self.stdout.write(f"  {label}: {count} re-encrypted")
        self.stdout.write(
            f"  {report.total_reencrypted} re-encrypted, {report.already_current} already under the new key"
        )
        if report.mfa_unencrypted:
            self.stderr.write(
                f"warning: {report.mfa_unencrypted} MFA secrets are not encrypted tokens and were left as they are"
            )
