"""The DICOM listener's throughput, side by side (run by ``make bench``, never by tests).

    .venv/bin/python benchmarks/bench_gateway.py [--files 200] [--repeat 3] [--memory 2000]
    .venv/bin/python benchmarks/bench_gateway.py --only routing [--repeat 9]

The corpus: N CT instances of 512 x 512, 16-bit, one study, written to a temporary folder
(new UIDs for every run, so no run finds the instances of an earlier one).  dcmtk's
``storescu`` sends them over one association to, in turn:

* a bare pynetdicom receiver, in a process of its own, that only writes each file (no fsync,
  no database): the limit; then the same in ``--processes`` processes (a port each) with the
  files over 4 associations, whose 4 / 1 is what the machine's cores allow any receiver
  built on pynetdicom (printed beside radgov's);
* Orthanc (``Orthanc``, its own configuration and storage folder on a free port, SQLite
  index; ``SyncStorageArea`` on, so it fsyncs each file it stores, as 1.7.4 and later do by
  default);
* radgov's listener (``radgov.gateway.listener.Listener``), which fsyncs each file and
  renames it into the spool before answering success, and commits the rows and audit entry
  in groups (timed until the last group committed);
* radgov's listener as ``radgov gateway dicom --processes P`` (``--processes``, default 2 for
  this machine's 2 cores: N listener processes accepting on one port), with the files split
  over 4 concurrent associations (timed until every row is committed; the processes' start
  is not timed).

After each radgov run the study is completed and routed against 20 deployments' criteria,
and that time is compared with the time spent receiving it (routing's CPU time is printed
too: on a busy machine its time is mostly waiting for a core).  Each turn runs every contender
once (A B C D, A B C D, ...) and the ratios are taken turn by turn, then their median, so a
machine whose speed drifts between turns still compares like with like.  Last, one listener
receives ``--memory`` instances in all and its resident memory is read after the first N
and at the end.  ``--only routing`` runs radgov's one-association receive and the routing
after it, and prints the routing lines only (a quick A/B of routing).  ``--only pauses``
routes one-image studies, each received through the services and routed at once or after a
pause (0, 0.05, 0.3 s): on a virtual machine the caches go cold in an idle moment, and a
study is always routed after its quiet period, so this separates what the code costs from
what the machine adds (docs/gateway.md, session 20).  Targets (issue 14): radgov at least
0.8x the bare receiver and at least Orthanc; 4 associations at least 1.6x one; memory flat;
routing under 1% of receiving.  The database is SQLite in a scratch data folder
(``DATABASE_URL`` to measure PostgreSQL: a scratch database beside the one it names, made
and dropped by the benchmark).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup_django() -> str | None:
    """Start radgov on SQLite in a scratch data folder, or on PostgreSQL in a scratch database
    ``<name>_bench_gateway`` (made, migrated and named in ``DATABASE_URL`` for the listener
    processes; dropped at the end as in bench_audit).  Returns the original database's name
    to drop the scratch one against, or None on SQLite."""
    os.environ["RADGOV_DATA_DIR"] = tempfile.mkdtemp(prefix="radgov-bench-gateway-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radgov.settings")
    from django.core.management import call_command
    from django.db import connection

    from radgov.cli import start

    start()  # as a radgov process starts (collector.start_up)
    if connection.vendor != "postgresql":
        call_command("migrate", verbosity=0)
        return None
    from bench_audit import scratch_database  # this folder is on sys.path

    name, original = scratch_database("bench_gateway")
    url = urlsplit(os.environ["DATABASE_URL"])
    os.environ["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{name}"))
    return original


def corpus(folder: Path, n: int) -> list[Path]:
    """``n`` CT instances of one new study in a new ``folder``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir()

    study, series = generate_uid(), generate_uid()
    rng = np.random.default_rng(7)
    files = []
    for i in range(n):
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientID, ds.Modality, ds.BodyPartExamined = "BENCH", "CT", "HEAD"
        ds.SliceThickness, ds.KVP, ds.InstanceNumber = "1", "120", i + 1
        ds.Rows = ds.Columns = 512
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = rng.integers(0, 4096, (512, 512), dtype=np.uint16).tobytes()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = folder / f"ct{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def storescu(port: int, calling: str, files: list[Path]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - dcmtk, our arguments
        ["storescu", "-aet", calling, "-aec", "RADGOV", "127.0.0.1", str(port), *map(str, files)]
    )


def send(ports: int | list[int], files: list[Path], associations: int = 1) -> float:
    """The files over ``associations`` concurrent associations, dealt in turn over ``ports``."""
    ports = ports if isinstance(ports, list) else [ports]
    parts = [files[i::associations] for i in range(associations)]
    start = time.perf_counter()
    procs = [storescu(ports[i % len(ports)], "BENCH", part) for i, part in enumerate(parts)]
    if any(p.wait() != 0 for p in procs):
        sys.exit("storescu failed")
    return time.perf_counter() - start


def bare(files: list[Path], out: Path, associations: int = 1, processes: int = 1) -> float:
    """The bare receiver in ``processes`` processes, each on a port of its own (the
    associations dealt over them in turn, the even spread that suits it best), started
    before the clock starts."""
    ports = [free_port() for _ in range(processes)]
    servers = [
        subprocess.Popen(  # noqa: S603 - this interpreter, this file
            [sys.executable, __file__, "--serve-bare", str(port), str(out)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    try:
        for server in servers:
            if server.stdout is None or server.stdout.readline() != "ready\n":
                sys.exit("the bare receiver did not start")
        return send(ports, files, associations)
    finally:
        for server in servers:
            server.kill()
            server.wait()


def serve_bare(port: int, out: Path) -> None:
    """A pynetdicom receiver that only writes each file (no fsync, no database); it says
    ``ready`` once it listens and serves until killed."""
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
    from pynetdicom.presentation import AllStoragePresentationContexts

    def write(event: Any) -> int:
        (out / f"{event.request.AffectedSOPInstanceUID}.dcm").write_bytes(event.encoded_dataset())
        return 0

    ae = AE(ae_title="RADGOV")
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, write)])
    print("ready", flush=True)
    threading.Event().wait()


def orthanc(files: list[Path], folder: Path) -> float:
    from tests.exams.peers import running_orthanc

    folder.mkdir()
    with running_orthanc(folder, SyncStorageArea=True) as (_, port):
        return send(port, files)


def radgov(files: list[Path], spool: Path, associations: int) -> float:
    from radgov.gateway.listener import Listener

    listener = Listener(port=free_port(), base=spool)
    listener.start()
    try:
        start = time.perf_counter()
        send(listener.port, files, associations)
        listener.settle()  # until every row is committed, not only every answer given
        return time.perf_counter() - start
    finally:
        listener.stop()


def radgov_processes(files: list[Path], work: Path, associations: int, processes: int) -> float:
    """``radgov gateway dicom --processes`` in a process group of its own, started and
    beating before the clock starts; timed until the rows of every file are committed."""
    from django.utils import timezone

    from radgov.core.models import ProcessBeat
    from radgov.gateway.models import Instance

    port, names = free_port(), [f"gateway-dicom-{n}" for n in range(1, processes + 1)]
    command = ["gateway", "dicom", "--processes", str(processes), "--port", str(port)]
    launched, before = timezone.now(), Instance.objects.count()
    with open(work / "listener.log", "a") as log:
        parent = subprocess.Popen(  # noqa: S603 - this interpreter, our command
            [sys.executable, "-m", "radgov.cli", *command],
            env={**os.environ, "RADGOV_DICOM_QUIET_SECONDS": "3600"},  # the bench routes
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    try:
        while ProcessBeat.objects.filter(name__in=names, started_at__gte=launched).count() < len(
            names
        ):
            if parent.poll() is not None:
                sys.exit(f"radgov gateway dicom --processes exited: {work / 'listener.log'}")
            time.sleep(0.2)
        start = time.perf_counter()
        send(port, files, associations)
        while Instance.objects.count() < before + len(files):
            time.sleep(0.01)
        return time.perf_counter() - start
    finally:
        os.killpg(parent.pid, signal.SIGTERM)
        parent.wait()


def resident_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def prepare() -> None:
    from radgov.core import machines
    from radgov.core.services import service
    from radgov.inventory.models import Deployment, ModelVersion, Product, VendorCompany

    machines.register(
        None,
        kind="dicom_peer",
        name="dicom:BENCH",
        ae_title="BENCH",
        address="127.0.0.1",
        grants=["gateway.store"],
    )

    @service
    def deployments() -> None:
        company = VendorCompany.objects.create(name="Bench AI")
        for n in range(20):
            product = Product.objects.create(
                company=company, name=f"Model {n}", category="cadt", regulatory_pathway="fda_510k"
            )
            version = ModelVersion.objects.create(product=product, version="1")
            criteria = {"modalities": ["CT"], "body_parts": ["HEAD" if n % 2 else "CHEST"]}
            if n % 3 == 0:
                criteria["max_slice_thickness_mm"] = 0.5
            Deployment.objects.create(
                model_version=version, site="", status="deployed", inclusion_criteria=criteria
            )

    deployments()


def route(spool: Path) -> tuple[float, float]:
    """Routing's time and its CPU time (this thread's: the figure a busy machine distorts
    least) for the one study received."""
    from django.utils import timezone

    from radgov.gateway import services

    later = timezone.now() + dt.timedelta(seconds=60)
    start, cpu = time.perf_counter(), time.thread_time()
    routed = services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)
    took, cpu = time.perf_counter() - start, time.thread_time() - cpu
    assert len(routed) == 1
    return took, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", type=int, default=2000, help="instances for the memory run")
    parser.add_argument(
        "--processes", type=int, default=2, help="listener processes for the 4 associations"
    )
    parser.add_argument(
        "--only",
        choices=["routing", "pauses"],
        help="routing: receive with radgov and route, nothing else; pauses: routing warm and cold",
    )
    parser.add_argument("--studies", type=int, default=40, help="studies a pause (--only pauses)")
    parser.add_argument("--serve-bare", nargs=2, metavar=("PORT", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:  # one of the bare receiver's processes (``bare``)
        serve_bare(int(args.serve_bare[0]), Path(args.serve_bare[1]))
        return
    original = setup_django()
    work = Path(tempfile.mkdtemp(prefix="radgov-bench-gateway-files-"))
    try:
        prepare()
        if args.only == "pauses":
            pauses(work, args.studies)
            return
        run(work, args.files, args.repeat, args.processes, everyone=args.only is None)
        if args.only is None:
            memory(work, args.files, args.memory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(os.environ["RADGOV_DATA_DIR"], ignore_errors=True)
        if original is not None:
            from django.db import connection

            connection.creation.destroy_test_db(original, verbosity=0)


def turn(
    work: Path, n: int, processes: int, everyone: bool
) -> tuple[dict[str, float], tuple[float, float]]:
    """One run of every contender (only radgov's one association unless ``everyone``), each
    on a study of its own; and routing's time and CPU."""
    took: dict[str, float] = {}
    if everyone:
        files = corpus(work / "bare-in", n)
        took["bare"] = bare(files, Path(tempfile.mkdtemp(dir=work)))
        took["bare x4"] = bare(files, Path(tempfile.mkdtemp(dir=work)), 4, processes)
        took["orthanc"] = orthanc(files, work / "orthanc")
    files = corpus(work / "radgov-in", n)
    took["radgov"] = radgov(files, work / "spool", 1)
    routing = route(work / "spool")
    if not everyone:
        return took, routing
    files = corpus(work / "radgov4-in", n)
    took["radgov x4"] = radgov_processes(files, work, 4, processes)
    route(Path(os.environ["RADGOV_DATA_DIR"]) / "spool")  # that listener's spool
    return took, routing


def run(work: Path, n: int, repeat: int, processes: int, *, everyone: bool = True) -> None:
    turns = []
    for k in range(repeat):
        folder = work / f"turn{k}"
        folder.mkdir()
        turns.append(turn(folder, n, processes, everyone))
        shutil.rmtree(folder)
    load = os.getloadavg()[0]  # a busy machine's figures are noisy: said beside each
    for name in turns[0][0]:
        took = statistics.median(t[name] for t, _ in turns)
        print(
            f"{name:10s} {took:7.2f} s  {n / took:7.1f} instances/s (median of {repeat}; "
            f"load {load:.1f})"
        )

    def ratio(a: str, b: str) -> str:
        each = [t[b] / t[a] for t, _ in turns]
        return f"{statistics.median(each):.2f}x (turns: {', '.join(f'{r:.2f}' for r in each)})"

    if everyone:
        print(
            f"radgov / bare throughput:    {ratio('radgov', 'bare')} target >= 0.8x; "
            f"load {load:.1f}"
        )
        print(
            f"radgov / Orthanc throughput: {ratio('radgov', 'orthanc')} target >= 1x; "
            f"load {load:.1f}"
        )
        print(
            f"4 associations / 1:          {ratio('radgov x4', 'radgov')} target >= 1.6x "
            f"(4 associations on {processes} listener processes, 1 on one); load {load:.1f}"
        )
        print(
            f"  the bare receiver's:       {ratio('bare x4', 'bare')} (4 associations on "
            f"{processes} processes: what this machine's cores allow); load {load:.1f}"
        )
    share = statistics.median(r / t["radgov"] for t, (r, _) in turns)
    routed = statistics.median(r for _, (r, _) in turns)
    cpu = statistics.median(c for _, (_, c) in turns)
    print(
        f"routing vs receiving:        {share:.2%} ({routed * 1000:.0f} ms a study; target < 1%); "
        f"load {load:.1f}"
    )
    print(f"routing's CPU time:          {cpu * 1000:.1f} ms a study (median); load {load:.1f}")


def pauses(work: Path, studies: int) -> None:
    """Routing's time for ``studies`` one-image studies at each pause between receiving a
    study (its image stored through ``services.store_instance``) and routing it."""
    from pydicom import dcmread
    from pydicom.uid import generate_uid
    from pynetdicom.dsutils import encode

    from radgov.core import machines
    from radgov.core.models import Machine
    from radgov.gateway import services, spool

    peer, base = Machine.objects.get(name="dicom:BENCH"), work / "pauses-spool"
    image = dcmread(corpus(work / "pauses", 1)[0])
    for pause in (0.0, 0.05, 0.3):
        took = []
        for _ in range(studies):
            image.StudyInstanceUID, image.SOPInstanceUID = generate_uid(), generate_uid()
            with machines.acting_as(peer, channel="dicom", client_address="127.0.0.1"):
                services.store_instance(
                    peer,
                    calling_ae="BENCH",
                    study_uid=image.StudyInstanceUID,
                    sop_uid=image.SOPInstanceUID,
                    sop_class_uid=image.SOPClassUID,
                    transfer_syntax_uid=image.file_meta.TransferSyntaxUID,
                    meta=spool.file_meta(
                        image.SOPClassUID, image.SOPInstanceUID, image.file_meta.TransferSyntaxUID
                    ),
                    dataset=encode(image, is_implicit_vr=False, is_little_endian=True),
                    base=base,
                )
            time.sleep(pause)
            took.append(route(base))
        # each pause's first study is left out: the run's first makes what is made once
        wall = statistics.median(t for t, _ in took[1:])
        cpu = statistics.median(c for _, c in took[1:])
        print(
            f"routing {pause * 1000:3.0f} ms after receiving: {wall * 1000:5.1f} ms a study, "
            f"{cpu * 1000:4.1f} ms of CPU (median of {studies - 1}); load {os.getloadavg()[0]:.1f}"
        )


def memory(work: Path, n: int, total: int) -> None:
    """Resident memory of one listener after ``n`` instances and after ``total``."""
    from radgov.gateway.listener import Listener

    batches = [corpus(work / f"memory{k}", n) for k in range(max(1, total // n))]
    listener = Listener(port=free_port(), base=work / "memory-spool")
    listener.start()
    try:
        before = resident_mb()
        send(listener.port, batches[0])
        first = resident_mb()
        for files in batches[1:]:
            send(listener.port, files)
        last = resident_mb()
    finally:
        listener.stop()
    print(
        f"resident memory: {before:.0f} MB before, {first:.0f} MB after {n} instances, "
        f"{last:.0f} MB after {n * len(batches)} (target: flat); load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
