"""The demo practice's gateway (issue 14, "A demo model node ... The demo practice sends a
few studies through it at start-up"): three small synthetic head CTs from the demo's CT
scanner go the whole way through the gateway, as a scanner's would: stored as received
instances, routed by the deployments' criteria, and sent to the SIMULATED model
(``demo-simulator``, the demo node's judgement run as a local Python model) where the
NeuroTriage ICH deployment has no model endpoint of its own.  One comes back positive, one
negative, and one rejected by the simulator ("no pixel data").

The pixels are made up (a bright and a dark square of 16 x 16); the patients do not exist.
Idempotent: the scanner is registered once, the same instances again are acknowledged
without a copy, a routed study is not routed again, and nothing is due twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.utils import timezone
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom.dsutils import encode, encode_file_meta

from radgov.core import machines
from radgov.core.models import Machine
from radgov.gateway import delivery, endpoints, local, services
from radgov.gateway.models import Endpoint, EndpointKind, Study
from radgov.inventory.models import Deployment

SCANNER = "DEMO_CT"
SITE = "Main Hospital CT"
MODEL = "demo-simulator"
UID_ROOT = "1.2.826.0.1.3680043.10.99.9100"
# (study number, grey level of the square, with pixels?)
STUDIES = [(1, 3900, True), (2, 200, True), (3, 0, False)]


def image(number: int, grey: int, pixels: bool) -> Dataset:
    """One synthetic axial head CT image of study ``number``."""
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, f"{UID_ROOT}.{number}.1.1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = f"{UID_ROOT}.{number}", f"{UID_ROOT}.{number}.1"
    ds.PatientID, ds.PatientName = f"DEMO-GW-{number}", f"DEMO^GATEWAY{number}"
    ds.IssuerOfPatientID, ds.AccessionNumber = "DEMO_HOSPITAL", f"DEMOGW{number}"
    ds.StudyDate, ds.StudyTime = f"{timezone.localdate():%Y%m%d}", "080000"
    ds.Modality, ds.BodyPartExamined, ds.ProtocolName = "CT", "HEAD", "HEAD ROUTINE"
    ds.Manufacturer, ds.StationName = "SIEMENS", "CTMAIN1"
    ds.SliceThickness, ds.KVP = "5", "120"
    ds.PatientAge, ds.PatientSex = "058Y", "M" if number % 2 else "F"
    if pixels:
        ds.Rows = ds.Columns = 16
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = np.full((16, 16), grey, dtype=np.uint16).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def _scanner() -> Machine:
    found = Machine.objects.filter(name=f"dicom:{SCANNER}").first()
    if found is not None:
        return found
    return machines.register(
        None,
        kind="dicom_peer",
        name=f"dicom:{SCANNER}",
        description="the demo practice's CT scanner (synthetic studies)",
        ae_title=SCANNER,
        address="127.0.0.1",
        grants=[services.STORE],
    )


def _model_endpoint(deployment: Deployment) -> None:
    if not Endpoint.objects.filter(deployment=deployment).exists():
        endpoints.set_endpoint(None, deployment, kind=EndpointKind.PYTHON, model=MODEL)


def load(stdout: Any) -> None:
    live = Deployment.objects.filter(site=SITE, status__in=services.LIVE)
    if not live.exists():
        stdout.write("Gateway: no live deployment at the demo's CT site yet; skipped.")
        return
    if MODEL not in local.registered():
        stdout.write(
            f"Gateway: the simulated model {MODEL!r} is not registered (radgov's package "
            "metadata is older than pyproject.toml: make install); skipped."
        )
        return
    for deployment in live:
        _model_endpoint(deployment)
    scanner = _scanner()
    with machines.acting_as(scanner, channel="dicom", client_address="127.0.0.1"):
        for number, grey, pixels in STUDIES:
            ds = image(number, grey, pixels)
            sent = encode(ds, is_implicit_vr=False, is_little_endian=True)
            assert sent is not None  # noqa: S101 - pynetdicom encodes what pydicom built
            services.store_instance(
                scanner,
                calling_ae=SCANNER,
                study_uid=str(ds.StudyInstanceUID),
                sop_uid=str(ds.SOPInstanceUID),
                sop_class_uid=CTImageStorage,
                transfer_syntax_uid=ExplicitVRLittleEndian,
                meta=encode_file_meta(ds.file_meta),
                dataset=sent,
                site=SITE,
            )
    later = timezone.now() + dt.timedelta(seconds=1)
    services.complete_quiet_studies(now=later, quiet_seconds=0)
    delivery.send_queued()
    through = Study.objects.filter(instances__calling_ae=SCANNER).distinct().count()
    stdout.write(
        f"Gateway: {through} synthetic studies sent by the demo scanner {SCANNER} through the "
        f"simulated model {MODEL} (a SIMULATOR, not a model)."
    )
