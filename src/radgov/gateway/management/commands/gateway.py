"""``radgov gateway dicom``: the DICOM listener; ``radgov gateway mllp``: the MLLP listener
for HL7 reports; ``radgov gateway route``: route the studies
that are complete now (docs/gateway.md).

``radgov gateway dicom --processes N`` (N > 1; ``RADGOV_DICOM_PROCESSES``) binds the port
itself, records the spool's images without a row, and supervises N listener processes that
accept on that one socket (``radgov.core.supervisor``: they die with it, one that exits is
started again and then recovers the spool first, as its predecessor may have left rows
unrecorded); it routes the complete studies itself and beats as ``gateway-dicom``, each
child as ``gateway-dicom-<n>``.  One process is one interpreter lock, and pynetdicom's
handling of PDUs takes most of a listener's CPU, so concurrent associations need processes,
not threads, to use more than one core.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from radgov.core import config, health, processes
from radgov.core.context import ActingContext, acting_as
from radgov.core.supervisor import Child, Supervisor
from radgov.gateway import delivery, endpoints, groups, polling, services, spool
from radgov.gateway.listener import Listener
from radgov.gateway.mllp_listener import MllpListener
from radgov.inventory.models import Deployment

PROCESSES = {"DICOM": "gateway-dicom", "MLLP": "gateway-mllp"}  # the names they beat under
ROUTE_EVERY_SECONDS = 2.0
log = logging.getLogger("radgov.gateway")


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
        dicom.add_argument(
            "--processes",
            type=int,
            help="listener processes on the one port (default RADGOV_DICOM_PROCESSES, 1)",
        )
        # a child of --processes: the parent's socket, its number, and whether it started again
        dicom.add_argument("--fd", type=int, help=argparse.SUPPRESS)
        dicom.add_argument("--child", type=int, help=argparse.SUPPRESS)
        dicom.add_argument("--recover", action="store_true", help=argparse.SUPPRESS)
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

    @staticmethod
    def _check_port(listener: Any, what: str) -> None:
        if not 0 < listener.port < 65536:
            raise CommandError(f"the {what} port must be 1 to 65535", returncode=2)

    def _serve(
        self,
        listener: Any,
        what: str,
        banner: str,
        tick: Callable[[], object] = lambda: None,
        name: str = "",
    ) -> None:
        """Listen until SIGTERM or SIGINT, beating (as ``name``, default the listener's
        process name) and running ``tick`` every few seconds."""
        self._check_port(listener, what)
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
                health.beat(name or PROCESSES[what])
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

        count = opts["processes"] or config.get_int("RADGOV_DICOM_PROCESSES")
        if count < 1:
            raise CommandError(f"--processes must be 1 or more, got {count}", returncode=2)
        banner = f"DICOM listener {listener.ae_title} on {listener.host}:{listener.port}"
        if opts["child"]:  # one of --processes: its parent bound the port, recovers and routes
            listener.sock = socket.socket(fileno=opts["fd"])
            listener.recover = opts["recover"]
            name = f"{PROCESSES['DICOM']}-{opts['child']}"
            self._serve(listener, "DICOM", f"{banner} ({name})", name=name)
        elif count == 1:
            self._serve(listener, "DICOM", banner, route)
        else:
            self._supervise(listener, count, f"{banner} ({count} processes)", route)

    def _supervise(
        self, listener: Any, count: int, banner: str, route: Callable[[], object]
    ) -> None:
        """Bind the port, record the spool's images without a row, then run ``count``
        listener processes on the socket until SIGTERM or SIGINT, beating and routing
        meanwhile."""
        self._check_port(listener, "DICOM")
        try:
            sock = processes.listen(listener.host, listener.port, who="DICOM listener")
        except processes.Busy as exc:
            raise CommandError(str(exc), returncode=1) from None
        with sock:
            spool.prepare(listener.base)
            groups.recover(listener.base, site=listener.site)
            fd = str(sock.fileno())
            argv = ["gateway", "dicom", "--fd", fd, "--port", str(listener.port)]
            argv += ["--host", listener.host, "--ae-title", listener.ae_title]
            argv += ["--site", listener.site]
            children = [
                Child(
                    f"{PROCESSES['DICOM']}-{n}",
                    [*argv, "--child", str(n)],
                    pass_fds=(sock.fileno(),),
                    again=("--recover",),
                )
                for n in range(1, count + 1)
            ]
            stop = threading.Event()
            beating = threading.Thread(
                target=_beat_and_route, args=(stop, route), name="radgov-route", daemon=True
            )
            beating.start()
            self.stderr.write(banner)
            try:
                Supervisor(children, say=self._say).run()
            finally:
                stop.set()
                beating.join()

    def _say(self, message: str) -> None:
        self.stderr.write(f"radgov gateway dicom: {message}")
        self.stderr.flush()


def _beat_and_route(stop: threading.Event, route: Callable[[], object]) -> None:
    """The supervising process's loop: beat as the listener and route the complete studies
    every few seconds (its children only listen); a failure is logged and tried again at
    the next turn, so the supervisor keeps serving while the database is away."""
    while not stop.is_set():
        try:
            health.beat(PROCESSES["DICOM"])
            route()
        except Exception as exc:
            log.error("the DICOM listener's routing turn failed (%s)", type(exc))
            connection.close()
        stop.wait(ROUTE_EVERY_SECONDS)
    connection.close()
