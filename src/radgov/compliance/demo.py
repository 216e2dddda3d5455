"""The demo practice's de-identification: one finished job over two of pydicom's own test
images (synthetic, shipped inside the pydicom package: nothing is downloaded), started by the
informatics person for local acceptance testing.  Idempotent: a second run finds the job."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pydicom.data import get_testdata_file

from radgov.accounts.models import User
from radgov.compliance import services
from radgov.compliance.models import DeidJob
from radgov.core import config

PURPOSE = "demo: local acceptance testing of an ICH triage model (pydicom's test images)"
FILES = ("CT_small.dcm", "MR_small.dcm")  # in pydicom's package, no download


def load(stdout: Any) -> None:
    if DeidJob.objects.filter(purpose=PURPOSE).exists():
        return
    user = User.objects.filter(username="informatics").first()
    if user is None:
        stdout.write("De-identification: no 'informatics' account in the demo; skipped.")
        return
    source = config.data_dir() / "demo" / "deid-source" / "study-1"
    source.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(Path(str(get_testdata_file(name))), source / name)
    job = services.deidentify_for(
        user, purpose=PURPOSE, source_folder=source, options=["retain-patient-characteristics"]
    )
    finished = services.run_job(job.pk)  # the demo needs no worker
    status = finished.status if finished else "queued"
    stdout.write(
        f"De-identification: job {job.pk} over {len(FILES)} of pydicom's test images ({status})."
    )
