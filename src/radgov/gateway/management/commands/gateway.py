"""``radgov gateway dicom``: the DICOM listener; ``radgov gateway route``: route the studies
that are complete now (docs/gateway.md)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from radgov.core import config, health
from radgov.gateway import services
from radgov.gateway.listener import Listener

PROCESS = "gateway-dicom"
ROUTE_EVERY_SECONDS = 2.0


class Command(BaseCommand):
    help = (
        "radgov gateway dicom: receive studies over DICOM (C-STORE, C-ECHO) from registered "
        "peers, store each instance durably before acknowledging it, and route each study "
        "when it is complete.  radgov gateway route: route the studies complete now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        dicom = sub.add_parser("dicom", help="run the DICOM listener in the foreground")
        dicom.add_argument("--port", type=int, help="default RADGOV_DICOM_PORT")
        dicom.add_argument("--host", help="default RADGOV_DICOM_HOST")
        dicom.add_argument("--ae-title", help="default RADGOV_DICOM_AE_TITLE")
        dicom.add_argument("--site", help="default RADGOV_DICOM_SITE")
        sub.add_parser("route", help="complete and route every study quiet for long enough")

    def handle(self, *args: Any, **opts: Any) -> None:
        quiet = float(config.get_int("RADGOV_DICOM_QUIET_SECONDS"))
        if opts["action"] == "route":
            routed = services.complete_quiet_studies(quiet_seconds=quiet)
            self.stdout.write(f"{len(routed)} studies routed")
            return
        try:
            listener = Listener.from_settings(
                port=opts["port"], host=opts["host"], ae_title=opts["ae_title"], site=opts["site"]
            )
        except ValueError as exc:
            raise CommandError(
                f"{exc} (set RADGOV_DICOM_PORT or pass --port)", returncode=2
            ) from None
        if not 0 < listener.port < 65536:
            raise CommandError("the DICOM port must be 1 to 65535", returncode=2)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        try:
            listener.start()
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {listener.host}:{listener.port}: {exc.strerror or exc}",
                returncode=1,
            ) from None
        self.stderr.write(f"DICOM listener {listener.ae_title} on {listener.host}:{listener.port}")
        try:
            while not stop.is_set():
                health.beat(PROCESS)
                services.complete_quiet_studies(quiet_seconds=quiet)
                stop.wait(ROUTE_EVERY_SECONDS)
        finally:
            listener.stop()
