"""``radgov gateway dicom``: the DICOM listener; ``radgov gateway mllp``: the MLLP listener
for HL7 reports; ``radgov gateway route``: route the studies
that are complete now (docs/gateway.md)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from radgov.core import config, health
from radgov.core.context import ActingContext, acting_as
from radgov.gateway import delivery, endpoints, polling, services
from radgov.gateway.listener import Listener
from radgov.gateway.mllp_listener import MllpListener
from radgov.inventory.models import Deployment

PROCESSES = {"DICOM": "gateway-dicom", "MLLP": "gateway-mllp"}  # the names they beat under
ROUTE_EVERY_SECONDS = 2.0


class Command(BaseCommand):
    help = (
        "radgov gateway dicom: receive studies over DICOM (C-STORE, C-ECHO) from registered "
        "peers, store each instance durably before acknowledging it, and route each study "
        "when it is complete.  radgov gateway mllp: receive reports over HL7 v2 (ORU^R01, "
        "MDM^T02) from registered peers into monitoring.  radgov gateway route: route the studies complete now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        dicom = sub.add_parser("dicom", help="run the DICOM listener in the foreground")
        dicom.add_argument("--port", type=int, help="default RADGOV_DICOM_PORT")
        dicom.add_argument("--host", help="default RADGOV_DICOM_HOST")
        dicom.add_argument("--ae-title", help="default RADGOV_DICOM_AE_TITLE")
        dicom.add_argument("--site", help="default RADGOV_DICOM_SITE")
        hl7 = sub.add_parser("mllp", help="run the MLLP listener for HL7 reports in the foreground")
        hl7.add_argument("--port", type=int, help="default RADGOV_MLLP_PORT")
        hl7.add_argument("--host", help="default RADGOV_MLLP_HOST")
        sub.add_parser(
            "route",
            help="complete and route every study quiet for long enough, send the queued ones, "
            "and ask STOW-RS model endpoints for results",
        )

        endpoint = sub.add_parser("endpoint", help="where a deployment's model receives studies")
        endpoint.add_argument("deployment", type=int, help="the inventory's deployment id")
        endpoint.add_argument(
            "--kind",
            choices=["dicom", "stow", "python"],
            default="dicom",
            help="a DICOM node (default), a DICOMweb STOW-RS service, or a local Python model",
        )
        endpoint.add_argument("--ae-title", default="", help="the model node's AE title")
        endpoint.add_argument("--host", default="")
        endpoint.add_argument("--port", type=int, default=0)
        endpoint.add_argument("--tls", action="store_true", help="DICOM TLS (TLS 1.2 or later)")
        endpoint.add_argument("--url", default="", help="the STOW-RS studies URL")
        endpoint.add_argument(
            "--credentials-from",
            metavar="FILE",
            help="a file holding the STOW-RS Authorization header value (kept encrypted)",
        )
        endpoint.add_argument("--model", default="", help="a registered local model's name")
        endpoint.add_argument("--timeout", type=int, default=30, help="seconds (default 30)")
        endpoint.add_argument(
            "--result-minutes",
            type=int,
            default=60,
            help="a study sent this long ago without a result has failed (default 60)",
        )

    def _endpoint(self, opts: dict[str, Any]) -> None:
        deployment = Deployment.objects.filter(pk=opts["deployment"]).first()
        if deployment is None:
            raise CommandError(f"no deployment {opts['deployment']}", returncode=2)
        credentials = None
        if opts["credentials_from"]:
            try:
                credentials = Path(opts["credentials_from"]).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CommandError(
                    f"--credentials-from: {exc.strerror or exc}", returncode=2
                ) from None
        try:
            with acting_as(ActingContext(channel="cli")):
                found = endpoints.set_endpoint(
                    None,
                    deployment,
                    kind=opts["kind"],
                    ae_title=opts["ae_title"],
                    host=opts["host"],
                    port=opts["port"],
                    tls=opts["tls"],
                    url=opts["url"],
                    credentials=credentials,
                    model=opts["model"],
                    timeout_seconds=opts["timeout"],
                    result_minutes=opts["result_minutes"],
                )
        except endpoints.EndpointError as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(f"deployment {deployment.pk} sends to {found.target}")

    def _mllp(self, opts: dict[str, Any]) -> None:
        try:
            listener = MllpListener.from_settings(port=opts["port"], host=opts["host"])
        except ValueError as exc:
            raise CommandError(
                f"{exc} (set RADGOV_MLLP_PORT or pass --port)", returncode=2
            ) from None
        self._serve(listener, "MLLP", f"MLLP listener on {listener.host}:{listener.port}")

    def _serve(
        self, listener: Any, what: str, banner: str, tick: Callable[[], object] = lambda: None
    ) -> None:
        """Listen until SIGTERM or SIGINT, beating (and running ``tick``) every few seconds."""
        if not 0 < listener.port < 65536:
            raise CommandError(f"the {what} port must be 1 to 65535", returncode=2)
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
        self.stderr.write(banner)
        try:
            while not stop.is_set():
                health.beat(PROCESSES[what])
                tick()
                stop.wait(ROUTE_EVERY_SECONDS)
        finally:
            listener.stop()

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "endpoint":
            self._endpoint(opts)
            return
        if opts["action"] == "mllp":
            self._mllp(opts)
            return
        quiet = float(config.get_int("RADGOV_DICOM_QUIET_SECONDS"))
        if opts["action"] == "route":
            routed = services.complete_quiet_studies(quiet_seconds=quiet)
            sent = delivery.send_queued()
            polling.poll_results()
            delivery.time_out()
            self.stdout.write(f"{len(routed)} studies routed, {len(sent)} sends to models tried")
            return
        try:
            listener = Listener.from_settings(
                port=opts["port"], host=opts["host"], ae_title=opts["ae_title"], site=opts["site"]
            )
        except ValueError as exc:
            raise CommandError(
                f"{exc} (set RADGOV_DICOM_PORT or pass --port)", returncode=2
            ) from None
        try:
            listener.ssl_context()  # a missing or unreadable certificate is said before listening
        except (OSError, ValueError) as exc:
            raise CommandError(f"DICOM TLS: {exc}", returncode=2) from None

        def route() -> None:
            services.complete_quiet_studies(quiet_seconds=quiet)
            delivery.send_queued()
            polling.poll_results()
            delivery.time_out()

        banner = f"DICOM listener {listener.ae_title} on {listener.host}:{listener.port}"
        self._serve(listener, "DICOM", banner, route)
