"""Gateway test data: a registered DICOM peer, live deployments with criteria, and small CT
instances (8 x 8 pixels) built with pydicom."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
from pynetdicom.dsutils import encode, encode_file_meta

from radgov.core import machines
from radgov.core.context import ActingContext, acting_as
from radgov.core.services import service
from radgov.gateway import endpoints, services
from radgov.inventory.models import Deployment, ModelVersion, Product, VendorCompany
from tests.integration.serving import free_port

SITE = "Main Hospital CT"
UID_ROOT = "1.2.826.0.1.3680043.10.99."  # every UID here: the log checks look for it
STUDY = UID_ROOT + "8001"
MRN = "MRN-CANARY-GW3X9"


def ct(sop_uid: str, *, study: str = STUDY, **changes: Any) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = generate_uid(prefix=UID_ROOT, entropy_srcs=[study, "series"])
    ds.PatientID = MRN
    ds.PatientName = "CANARY^GATEWAY"
    ds.AccessionNumber = "ACC-GW-1"
    ds.StudyDate, ds.StudyTime = "20260301", "101500"
    ds.Modality, ds.BodyPartExamined = "CT", "HEAD"
    ds.Manufacturer, ds.StationName = "SIEMENS", "CTMAIN1"
    ds.ProtocolName = "HEAD ROUTINE"
    ds.SliceThickness, ds.KVP = "5", "120"
    ds.PatientAge, ds.PatientSex = "067Y", "F"
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = np.arange(64, dtype=np.uint16).tobytes()
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def as_sent(ds: Dataset) -> bytes:
    """The dataset as a peer sends it (Explicit VR Little Endian, no file meta)."""
    encoded = encode(ds, is_implicit_vr=False, is_little_endian=True)
    assert encoded is not None
    return encoded


def store(peer: Any, ds: Dataset, spool: Path, **kwargs: Any) -> services.Received:
    """What the listener does with a C-STORE, as the peer (without the socket)."""
    with machines.acting_as(peer, channel="dicom", client_address="127.0.0.1"):
        return _store(peer, ds, spool, **kwargs)


def _store(peer: Any, ds: Dataset, spool: Path, **kwargs: Any) -> services.Received:
    return services.store_instance(
        peer,
        calling_ae=peer.ae_title,
        study_uid=str(ds.StudyInstanceUID),
        sop_uid=str(ds.SOPInstanceUID),
        sop_class_uid=str(ds.SOPClassUID),
        transfer_syntax_uid=ExplicitVRLittleEndian,
        meta=encode_file_meta(ds.file_meta),
        dataset=kwargs.pop("dataset", None) or as_sent(ds),
        site=kwargs.pop("site", SITE),
        base=spool,
    )


def dicom_peers(*ae_titles: str) -> None:
    """Register each AE title as a DICOM peer on localhost that may store."""
    for ae in ae_titles:
        machines.register(
            None,
            kind="dicom_peer",
            name=f"dicom:{ae}",
            ae_title=ae,
            address="127.0.0.1",
            grants=["gateway.store"],
        )


@pytest.fixture
def ris(db: Any) -> Any:
    """The RIS, a registered MLLP peer on localhost that may send reports."""
    return machines.register(
        None,
        kind="mllp_peer",
        name="mllp:RIS",
        address="127.0.0.1",
        application="RIS^MAIN",
        grants=["gateway.report"],
    )


@contextmanager
def listener_and_model(spool: Path) -> Iterator[tuple[Any, Any]]:
    """The listener and the simulated model node that answers it, each on a free port,
    running until the block ends."""
    from radgov.gateway.demo_node import DemoNode
    from radgov.gateway.listener import Listener

    server = Listener(port=free_port(), base=spool, site=SITE)
    node = DemoNode(port=free_port(), reply_port=server.port)
    server.start()
    node.start()
    try:
        yield server, node
    finally:
        node.stop()
        server.stop()


def database_url() -> str:
    """The test database, for a listener a test runs in a process of its own."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def storescu_args(port: int, calling: str, files: list[Path]) -> list[str]:
    """dcmtk's storescu sending ``files`` over one association as ``calling``, with timeouts
    for a busy machine."""
    timeouts = ["-to", "120", "-ta", "120", "-td", "120"]
    return ["storescu", "-aet", calling, "-aec", "RADGOV", *timeouts, "127.0.0.1", str(port)] + [
        str(f) for f in files
    ]


def new_uid() -> str:
    return generate_uid(prefix=UID_ROOT)


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    """Accounts are made here by the handful; their password hashing is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def peer(db: Any) -> Any:
    return machines.register(
        None,
        kind="dicom_peer",
        name="dicom:CT_MAIN",
        ae_title="CT_MAIN",
        address="127.0.0.1",
        grants=["gateway.store"],
    )


def set_endpoint(deployment: Deployment, **values: Any) -> Any:
    """Set the deployment's model endpoint as the operator at the console."""
    with acting_as(ActingContext(channel="cli")):
        return endpoints.set_endpoint(None, deployment, **values)


def send_until_spent(spool: Path) -> None:
    """Send the one queued study until its attempts are spent, one more each run."""
    from radgov.gateway import delivery

    for attempt in range(1, delivery.MAX_ATTEMPTS + 1):
        [route] = delivery.send_queued(base=spool)
        assert route.attempts == attempt
    assert delivery.send_queued(base=spool) == []


@pytest.fixture
def queued(peer: Any, spool: Path) -> Deployment:
    """A two-instance head CT, routed and queued for HeadTriage."""
    head = deployment("HeadTriage", {"body_parts": ["HEAD"]})
    store(peer, ct(new_uid()), spool)
    store(peer, ct(new_uid()), spool)
    later = timezone.now() + dt.timedelta(seconds=31)
    services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)
    return head


@service
def deployment(
    name: str, criteria: dict[str, Any], *, status: str = "deployed", site: str = SITE
) -> Deployment:
    company, _ = VendorCompany.objects.get_or_create(name=f"{name} Inc")
    product = Product.objects.create(
        company=company, name=name, category="cadt", regulatory_pathway="fda_510k"
    )
    version = ModelVersion.objects.create(product=product, version="1.0")
    return Deployment.objects.create(
        model_version=version, site=site, status=status, inclusion_criteria=criteria
    )
