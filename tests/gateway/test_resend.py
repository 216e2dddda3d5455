"""A rejected input resent from the scanner is routed again (III.E.1.d; docs/gateway.md,
"Rejected inputs"): dcmtk's storescu sends a head CT at 5 mm to a model that takes 3 mm at
most (rejected, on the technologist's queue); the technologist reconstructs at 2 mm and
resends it: the new images reopen the study, the inference goes back to queued ("resent"),
and only the new images reach the model's node.  Resent still wrong, it is rejected again
and back on the queue.  Real sockets, free ports, servers shut down."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from django.utils import timezone
from pynetdicom import AE, evt
from pynetdicom.presentation import AllStoragePresentationContexts

from radgov.core.context import ActingContext, acting_as
from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.gateway import delivery, endpoints, remediation, services
from radgov.gateway.listener import Listener
from radgov.gateway.models import Route
from tests.factories import make_user
from tests.gateway.conftest import SITE, ct, deployment, free_port, new_uid
from tests.gateway.test_listener import storescu

pytestmark = [pytest.mark.peer("storescu"), pytest.mark.django_db(transaction=True)]


def series(folder: Path, thickness: str, n: int = 2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for k in range(n):
        path = folder / f"ct{k}.dcm"
        ct(new_uid(), SliceThickness=thickness).save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def route(spool: Path) -> None:
    later = timezone.now() + dt.timedelta(seconds=31)
    services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)


@pytest.fixture
def gateway(peer, tmp_path):  # type: ignore[no-untyped-def]
    """The listener, a model node that keeps what it is sent, a 3 mm model and its tech."""
    thin = deployment("ThinSlice", {"body_parts": ["HEAD"], "max_slice_thickness_mm": 3})
    got: list[str] = []
    lock = threading.Lock()

    def keep(event):  # type: ignore[no-untyped-def]
        with lock:
            got.append(str(event.dataset.SliceThickness))
        return 0x0000

    node = AE(ae_title="VENDOR")
    for context in AllStoragePresentationContexts:
        node.add_supported_context(context.abstract_syntax)
    node_port = free_port()
    node_server = node.start_server(
        ("127.0.0.1", node_port), block=False, evt_handlers=[(evt.EVT_C_STORE, keep)]
    )
    with acting_as(ActingContext(channel="cli")):
        endpoints.set_endpoint(None, thin, ae_title="VENDOR", host="127.0.0.1", port=node_port)
    spool = tmp_path / "spool"
    listener = Listener(port=free_port(), base=spool, site=SITE)
    listener.start()
    try:
        yield listener, spool, got, make_user("gw-tech", role=Role.TECHNOLOGIST)
    finally:
        listener.stop()
        node_server.shutdown()


def test_a_study_resent_after_a_fixable_rejection_is_routed_again(gateway, tmp_path) -> None:
    listener, spool, got, tech = gateway
    assert storescu(listener.port, "CT_MAIN", series(tmp_path / "5mm", "5")).returncode == 0
    route(spool)
    rejected = Inference.objects.get()
    assert (rejected.status, rejected.reason_code) == ("rejected", "slice_thickness")
    assert [i.pk for i in remediation.queue(tech)] == [rejected.pk]
    remediation.decide(tech, rejected, "resent", "reconstructed at 2 mm")
    route(spool)  # nothing new arrived: nothing changes
    assert Inference.objects.get().status == "rejected" and delivery.send_queued(base=spool) == []

    assert storescu(listener.port, "CT_MAIN", series(tmp_path / "2mm", "2")).returncode == 0
    route(spool)
    requeued = Inference.objects.get()
    history = list(requeued.history.all())
    assert [c.to_status for c in history] == ["received", "rejected", "queued"]
    assert history[-1].reason == "Resent: 2 new image(s) after the rejection; routed again."
    assert history[-1].actor_name == "task:gateway.route"
    assert Route.objects.get().outcome == "queued" and remediation.queue(tech) == []
    [sent] = delivery.send_queued(base=spool)
    assert sent.inference.status == "sent"
    assert sorted(got) == ["2", "2"]  # the resent series only, not the 5 mm one
    route(spool)  # routing again records nothing twice
    assert Inference.objects.get().history.count() == 4


def test_a_study_resent_still_wrong_is_rejected_again_and_back_on_the_queue(
    gateway, tmp_path
) -> None:
    listener, spool, got, tech = gateway
    assert storescu(listener.port, "CT_MAIN", series(tmp_path / "5mm", "5")).returncode == 0
    route(spool)
    remediation.decide(tech, Inference.objects.get(), "resent")
    assert remediation.queue(tech) == []
    assert storescu(listener.port, "CT_MAIN", series(tmp_path / "4mm", "4")).returncode == 0
    route(spool)
    again = Inference.objects.get()
    assert [c.to_status for c in again.history.all()] == [
        "received",
        "rejected",
        "queued",
        "rejected",
    ]
    assert (again.status, again.reason_code) == ("rejected", "slice_thickness")
    assert "SliceThickness 4 mm is above the maximum 3 mm" in again.reason
    assert [i.pk for i in remediation.queue(tech)] == [again.pk]  # answered before: back again
    remediation.decide(tech, again, "not_fixable", "scanner cannot reconstruct thinner")
    assert remediation.queue(tech) == [] and delivery.send_queued(base=spool) == [] and got == []
