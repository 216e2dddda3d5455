"""Side-by-side benchmark of ``radgov.dicom.deid`` (run by ``make bench``, never by tests).

    .venv/bin/python benchmarks/bench_deid.py [--files 200]

The corpus: N CT files of 512 x 512, 16-bit (CT_small's real header, private tags included, a
distinct Study/Series/SOP Instance UID set per file, random pixel data), written to a temporary
folder.  Each contender runs in its own fresh process over the same files, in the same run, and
reports its wall time and its peak resident memory (that process plus its pool workers).  Its
libraries are imported before the clock starts, as in the background worker that runs radgov's
de-identification jobs: at 200 files a one-time import would be a quarter of radgov's time and
would hide how the work itself scales over two processes.  For the same reason ``--jobs 2``
finds its pool's forkserver running, its module imported (``runner.worker_context``), as in
a worker that has run a job before: the first pool of a process starts it, about 0.25 s.  Each contender runs ``--repeat``
times, in turn with the others, and its median run is reported:

* plain pydicom ``dcmread`` + ``save_as`` (the practical limit: no de-identification at all);
* radgov, ``--jobs 1`` and ``--jobs 2`` (``radgov.dicom.deid.runner.run``, Basic Profile);
* dicognito (``Anonymizer().anonymize(ds)`` between the same read and write);
* dicom-anonymizer (``anonymize_dicom_file``, its default rules and private tags deleted).

Targets: radgov jobs 1 >= 0.8x pydicom; >= 2.5x dicognito and dicom-anonymizer; jobs 2 scales
(>= 1.5x jobs 1, on a 2-core machine).  Memory: radgov on 1 file vs on N files, peak RSS must stay
flat (within 25 MB), because files are streamed one at a time per worker.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 1024 * 1024


def make_multiframe(path: Path, frames: int) -> None:
    """One multi-frame CT-like file of ``frames`` x 512 x 512 x 16 bit, written frame by frame."""
    import numpy as np
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.Rows = ds.Columns = 512
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.NumberOfFrames = frames
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    frame = np.random.default_rng(3).integers(0, 4096, size=(512, 512), dtype=np.uint16).tobytes()
    del ds.PixelData  # the header is written first, then the frames are appended
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    length = len(frame) * frames
    with path.open("ab") as handle:  # (7FE0,0010) OW, explicit VR little endian
        handle.write(b"\xe0\x7f\x10\x00OW\x00\x00" + length.to_bytes(4, "little"))
        for _ in range(frames):
            handle.write(frame)


def make_corpus(folder: Path, count: int) -> None:
    import numpy as np
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    template = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    rng = np.random.default_rng(7)
    template.Rows = template.Columns = 512
    template.BitsAllocated, template.BitsStored, template.HighBit = 16, 16, 15
    template.PixelRepresentation = 0
    folder.mkdir(parents=True, exist_ok=True)
    study = generate_uid()
    series = generate_uid()
    for i in range(count):
        ds = template.copy()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = i + 1
        ds.PixelData = rng.integers(0, 4096, size=(512, 512), dtype=np.uint16).tobytes()
        ds.save_as(folder / f"ct_{i:04d}.dcm", enforce_file_format=True)


# ------------------------------------------------------------------------------ contenders
def _files(src: Path) -> list[Path]:
    return sorted(src.glob("*.dcm"))


def run_pydicom(src: Path, dst: Path) -> None:
    import pydicom

    for path in _files(src):
        pydicom.dcmread(path).save_as(dst / path.name)


def run_radgov(src: Path, dst: Path, jobs: int) -> None:
    from radgov.dicom.deid.profile import compile_profile
    from radgov.dicom.deid.runner import RunSettings, run

    report = run(src, dst, RunSettings(key=b"b" * 32, profile=compile_profile()), jobs=jobs)
    assert report.summary["failed"] == 0, report.summary


def run_dicognito(src: Path, dst: Path) -> None:
    import pydicom
    from dicognito.anonymizer import Anonymizer

    anonymizer = Anonymizer()
    for path in _files(src):
        ds = pydicom.dcmread(path)
        anonymizer.anonymize(ds)
        ds.save_as(dst / path.name)


def run_dicom_anonymizer(src: Path, dst: Path) -> None:
    from dicomanonymizer import anonymize_dicom_file

    for path in _files(src):
        anonymize_dicom_file(str(path), str(dst / path.name))


# what each contender imports before its clock starts
LIBRARIES = {
    "pydicom read+write": ["pydicom"],
    "radgov jobs 1": ["radgov.dicom.deid.profile", "radgov.dicom.deid.runner"],
    "radgov jobs 2": ["radgov.dicom.deid.profile", "radgov.dicom.deid.runner"],
    "dicognito": ["pydicom", "dicognito.anonymizer"],
    "dicom-anonymizer": ["dicomanonymizer"],
}

CONTENDERS = {
    "pydicom read+write": lambda s, d: run_pydicom(s, d),
    "radgov jobs 1": lambda s, d: run_radgov(s, d, 1),
    "radgov jobs 2": lambda s, d: run_radgov(s, d, 2),
    "dicognito": lambda s, d: run_dicognito(s, d),
    "dicom-anonymizer": lambda s, d: run_dicom_anonymizer(s, d),
}


def child(name: str, src: Path, dst: Path) -> None:
    """Run one contender in this (fresh) process and print its numbers as JSON."""
    dst.mkdir(parents=True, exist_ok=True)
    for module in LIBRARIES[name]:
        importlib.import_module(module)
    if name == "radgov jobs 2":
        from radgov.dicom.deid.runner import worker_context

        with worker_context().Pool(1) as pool:  # the server up and its imports done
            pool.apply(len, ((),))
    start = time.perf_counter()
    CONTENDERS[name](src, dst)
    seconds = time.perf_counter() - start
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    rss_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": rss_kb / 1024}))


def measure(name: str, src: Path, dst: Path) -> dict[str, float]:
    shutil.rmtree(dst, ignore_errors=True)
    result = subprocess.run(
        [sys.executable, __file__, "--child", name, str(src), str(dst)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{name} failed:\n{result.stderr[-2000:]}")
    numbers: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return numbers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--big-frames", type=int, default=1000, help="frames of the big file")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender (median)")
    parser.add_argument("--child", nargs=3, metavar=("NAME", "SRC", "DST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0

    work = Path(tempfile.mkdtemp(prefix="radgov-bench-deid-"))
    try:
        src = work / "src"
        make_corpus(src, args.files)
        size = sum(p.stat().st_size for p in src.iterdir()) / MB
        print(
            f"corpus: {args.files} CT files, 512x512 16-bit, {size:.0f} MB, {os.cpu_count()} CPUs"
        )
        load = os.getloadavg()[0]
        print(f"load average before the runs: {load:.2f} (a busy machine hides jobs-2 scaling)")
        measure("pydicom read+write", src, work / "warm")  # warm the page cache
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in CONTENDERS}
        for _ in range(args.repeat):  # in turn, so that a change in the machine's speed is shared
            for name in CONTENDERS:
                runs[name].append(measure(name, src, work / "out"))
        # each contender's median run (by seconds): one run of a second or less is noisy
        results = {
            name: sorted(r, key=lambda x: x["seconds"])[len(r) // 2] for name, r in runs.items()
        }
        n = args.files
        rate = {name: n / r["seconds"] for name, r in results.items()}
        print(f"\n{'contender':<22}{'files/s':>10}{'seconds':>10}{'CPU s':>8}{'peak RSS MB':>13}")
        for name, r in results.items():
            print(
                f"{name:<22}{rate[name]:>10.1f}{r['seconds']:>10.2f}{r['cpu_seconds']:>8.2f}"
                f"{r['peak_rss_mb']:>13.0f}"
            )
        r1, r2 = rate["radgov jobs 1"], rate["radgov jobs 2"]
        cpu = {name: r["cpu_seconds"] for name, r in results.items()}
        checks = [
            ("radgov jobs 1 / pydicom read+write", r1 / rate["pydicom read+write"], 0.8),
            ("radgov jobs 1 / dicognito", r1 / rate["dicognito"], 2.5),
            ("radgov jobs 1 / dicom-anonymizer", r1 / rate["dicom-anonymizer"], 2.5),
            ("radgov jobs 2 / radgov jobs 1", r2 / r1, 1.5),
        ]
        print("\nCPU-time ratios (less sensitive to other load on the machine; not targets):")
        for peer in ("pydicom read+write", "dicognito", "dicom-anonymizer"):
            print(f"  {peer} CPU / radgov jobs 1 CPU: {cpu[peer] / cpu['radgov jobs 1']:.2f}")
        # Memory: one file against all of them, same process layout (jobs 1).
        one = work / "one"
        one.mkdir()
        shutil.copy(next(iter(sorted(src.iterdir()))), one)
        mem_one = measure("radgov jobs 1", one, work / "out1")["peak_rss_mb"]
        mem_all = results["radgov jobs 1"]["peak_rss_mb"]
        print(f"\n{'ratio':<40}{'value':>8}{'target':>9}  met")
        failed = 0
        for label, value, target in checks:
            met = value >= target
            failed += not met
            print(f"{label:<40}{value:>8.2f}{'>= ' + str(target):>9}  {'yes' if met else 'NO'}")
        growth = mem_all - mem_one
        met = growth <= 25
        failed += not met
        print(
            f"{'peak RSS, ' + str(n) + ' files minus 1 file (MB)':<40}{growth:>8.1f}"
            f"{'<= 25':>9}  {'yes' if met else 'NO'}"
        )
        # A large multi-frame file must not be held twice: peak RSS - baseline < 1.5 x size.
        big = work / "big"
        make_multiframe(big / "multiframe.dcm", args.big_frames)
        big_mb = (big / "multiframe.dcm").stat().st_size / MB
        big_rss = measure("radgov jobs 1", big, work / "outbig")["peak_rss_mb"]
        extra = big_rss - mem_one
        met = extra < 1.5 * big_mb
        failed += not met
        label = f"multi-frame {big_mb:.0f} MB: RSS over 1 file (MB)"
        print(
            f"{label:<40}{extra:>8.0f}{'< ' + format(1.5 * big_mb, '.0f'):>9}  {'yes' if met else 'NO'}"
        )
        total = len(checks) + 2
        print(f"\n{total - failed} of {total} targets met")
        return 0 if failed == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
