"""Batch runs: bad input, paths that would escape DST, jobs, the mapping table, the config file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pydicom
import pydicom.config
import pytest
from pydicom.data import get_testdata_file

from radgov.dicom.deid.config import ConfigError, load_config, parse_config
from radgov.dicom.deid.mapping import MappingError, read_mapping, write_mapping
from radgov.dicom.deid.profile import compile_profile
from radgov.dicom.deid.runner import (
    RunSettings,
    mapping_document,
    quiet_validation,
    run,
    safe_output_path,
)

KEY = b"k" * 40


def _settings(**kw) -> RunSettings:
    return RunSettings(key=KEY, profile=compile_profile(), **kw)


def _copy(name: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(Path(get_testdata_file(name)).read_bytes())
    return target


def _broken_sequence(target: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    item = pydicom.Dataset()
    item.SeriesInstanceUID = "1.2.3"
    ds.ReferencedSeriesSequence = [item]
    ds.save_as(target)
    data = target.read_bytes()
    start = data.find(b"\x08\x00\x15\x11SQ")
    item_at = data.find(b"\xfe\xff\x00\xe0", start)
    target.write_bytes(data[: item_at + 8] + b"\xff" * 14 + data[item_at + 22 :])


def _unknown_syntax(target: Path) -> None:
    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    assert b"1.2.840.10008.1.2.1\x00" in data
    target.write_bytes(data.replace(b"1.2.840.10008.1.2.1\x00", b"1.2.840.99999.1.2.1\x00", 1))


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    _copy("CT_small.dcm", src / "a" / "ct.dcm")
    _copy("MR_small.dcm", src / "b" / "mr.dcm")
    (src / "notes.txt").write_text("not dicom at all\n")
    _copy("MR_truncated.dcm", src / "truncated.dcm")
    _broken_sequence(src / "broken_sequence.dcm")
    _unknown_syntax(src / "unknown_syntax.dcm")
    return src


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_bad_files_are_skipped_with_reasons_and_the_run_goes_on(messy, tmp_path):
    before = _hashes(messy)
    report = run(messy, tmp_path / "out", _settings())
    status = {f["source"]: (f["status"], f["reason"]) for f in report.files}
    assert status["a/ct.dcm"][0] == "ok" and status["b/mr.dcm"][0] == "ok"
    assert status["notes.txt"] == ("failed", status["notes.txt"][1])
    assert "not a DICOM file" in status["notes.txt"][1]
    assert "truncated" in status["truncated.dcm"][1]
    assert "broken sequence" in status["broken_sequence.dcm"][1]
    assert "unknown transfer syntax" in status["unknown_syntax.dcm"][1]
    assert report.summary["failed"] == 4 and report.summary["ok"] == 2
    outputs = sorted(f["output"] for f in report.files if f["output"])
    assert (
        sorted(
            p.relative_to(tmp_path / "out").as_posix()
            for p in (tmp_path / "out").rglob("*")
            if p.is_file()
        )
        == outputs
    )
    assert len(outputs) == 2
    assert _hashes(messy) == before  # the originals are never modified


def test_report_has_no_attribute_values(messy, tmp_path):
    ds = pydicom.dcmread(messy / "a" / "ct.dcm")
    report = run(messy, tmp_path / "out", _settings())
    text = repr(report.as_json())
    assert str(ds.PatientName) not in text and str(ds.SOPInstanceUID) not in text
    assert report.summary["edition"] == "2026d" and report.summary["profile"] == "basic"
    assert report.summary["started_utc"].endswith("Z")
    first = report.files[0]
    assert set(first) >= {"source", "output", "status", "reason", "actions"}


def test_jobs_two_gives_the_same_outputs(messy, tmp_path):
    one = run(messy, tmp_path / "one", _settings(), jobs=1)
    two = run(messy, tmp_path / "two", _settings(), jobs=2)
    assert [(f["source"], f["status"]) for f in one.files] == [
        (f["source"], f["status"]) for f in two.files
    ]
    assert _hashes(tmp_path / "one") == _hashes(tmp_path / "two")


def test_nothing_is_written_outside_dst(tmp_path):
    src = tmp_path / "src"
    _copy("CT_small.dcm", src / "escape" / "ct.dcm")
    _copy("MR_small.dcm", src / "fine" / "mr.dcm")
    outside = tmp_path / "outside"
    outside.mkdir()
    dst = tmp_path / "dst"
    dst.mkdir()
    study = run(src / "escape", tmp_path / "probe", _settings()).files[0]["output"].split("/")[0]
    os.symlink(outside, dst / study)  # DST/<the CT study's folder> -> outside: would escape
    report = run(src, dst, _settings())
    status = {f["source"]: f for f in report.files}
    assert status["escape/ct.dcm"]["status"] == "failed"
    assert "escape" in status["escape/ct.dcm"]["reason"]
    assert status["fine/mr.dcm"]["status"] == "ok"
    assert list(outside.iterdir()) == []
    with pytest.raises(Exception, match="escape"):
        safe_output_path(os.path.realpath(dst), "../x.dcm")


def test_symlinked_sources_are_not_followed(tmp_path):
    src = tmp_path / "src"
    target = _copy("CT_small.dcm", tmp_path / "elsewhere" / "ct.dcm")
    src.mkdir()
    os.symlink(target, src / "link.dcm")
    report = run(src, tmp_path / "dst", _settings())
    assert report.files[0]["status"] == "failed"
    assert "symbolic link" in report.files[0]["reason"]


def test_single_file_in(tmp_path):
    path = _copy("CT_small.dcm", tmp_path / "in" / "one.dcm")
    report = run(path, tmp_path / "out", _settings())
    assert report.files[0]["status"] == "ok"
    assert (tmp_path / "out" / report.files[0]["output"]).exists()


def test_mapping_table_round_trip_and_wrong_key(messy, tmp_path):
    settings = _settings(record_mapping=True)
    report = run(messy, tmp_path / "out", settings)
    doc = mapping_document(report, settings.profile)
    assert sorted(doc["sources"].values()) == sorted(f["source"] for f in report.files)
    path = tmp_path / "mapping.bin"
    write_mapping(path, doc, KEY)
    blob = path.read_bytes()
    assert blob.startswith(b"RGDEIDMP\x01")
    original = pydicom.dcmread(messy / "a" / "ct.dcm")
    assert str(original.SOPInstanceUID).encode() not in blob  # encrypted at rest
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    table = read_mapping(path, KEY)
    ct = next(f for f in report.files if f["source"] == "a/ct.dcm")
    out = pydicom.dcmread(tmp_path / "out" / ct["output"])
    assert table["sources"][ct["source_ref"]] == "a/ct.dcm"
    assert table["uids"][str(original.SOPInstanceUID)] == out.SOPInstanceUID
    patient = table["patients"][f"id:{original.PatientID}^"]
    assert patient["pseudonym"] == out.PatientID
    with pytest.raises(MappingError, match="does not open"):
        read_mapping(path, b"x" * 40)
    path.write_bytes(b"not a mapping file at all, no sir")
    with pytest.raises(MappingError, match="not a radgov"):
        read_mapping(path, KEY)


def test_config_file_is_validated_with_clear_errors(tmp_path):
    good = tmp_path / "site.yaml"
    good.write_text(
        "keep: ['(0008,1030)', SeriesDescription]\n"
        "remove: ['0018,0015']\n"
        "replace: {InstitutionName: RESEARCH}\n"
        "safe_private: [{creator: 'ACME 1.0', element: xx10}]\n"
        "pixel_masks: [{manufacturer: ACME, model: U1, rows: 480, columns: 640,"
        " regions: [[0, 0, 640, 40]]}]\n"
    )
    config = load_config(good)
    assert 0x00081030 in config.rules.keep and 0x0008103E in config.rules.keep
    assert config.rules.replace == {0x00080080: "RESEARCH"}
    assert config.safe_private == ((None, "ACME 1.0", 0x10),)
    assert config.pixel_masks[0].regions == ((0, 0, 640, 40),)
    cases = {
        "colour: blue": "unknown key",
        "keep: [NotAKeyword]": "keep[0]: 'NotAKeyword'",
        "keep: PatientName": "keep: expected a list",
        "safe_private: [{creator: X, element: '1234'}]": "safe_private[0].element",
        "pixel_masks: [{manufacturer: A, model: B, rows: 10, columns: 10, regions: [[5, 5, 10, 1]]}]": "outside",
        "pixel_masks: [{manufacturer: A, model: B, rows: -1, columns: 10, regions: [[0,0,1,1]]}]": "pixel_masks[0].rows",
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.yaml"
        bad.write_text(text + "\n")
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_config(bad)
    with pytest.raises(ConfigError, match="not valid YAML"):
        bad.write_text("keep: [\n")
        load_config(bad)
    assert parse_config(None).rules.keep == frozenset()


def test_dst_inside_src_is_not_walked_again(tmp_path):
    src = tmp_path / "src"
    _copy("CT_small.dcm", src / "ct.dcm")
    first = run(src, src / "deid", _settings())
    second = run(src, src / "deid", _settings())
    assert [f["source"] for f in first.files] == [f["source"] for f in second.files] == ["ct.dcm"]
    with pytest.raises(ValueError, match="must differ"):
        run(src, src, _settings())


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "JPEG2000.dcm",
        "SC_rgb_rle.dcm",
    ],
)
def test_pixel_data_is_streamed_unchanged(tmp_path, name):
    path = _copy(name, tmp_path / "in" / name)
    report = run(path, tmp_path / "out", _settings())
    record = report.files[0]
    assert record["status"] in ("ok", "quarantined"), record
    out = pydicom.dcmread(tmp_path / "out" / record["output"])
    src = pydicom.dcmread(path)
    assert out.file_meta.TransferSyntaxUID == src.file_meta.TransferSyntaxUID
    assert out.PixelData == src.PixelData
    assert out.PatientIdentityRemoved == "YES"


def test_elements_after_the_pixel_data_still_follow_the_profile(tmp_path):
    path = _copy("CT_small.dcm", tmp_path / "in" / "ct.dcm")
    # Data Set Trailing Padding (X) after the pixels
    path.write_bytes(path.read_bytes() + b"\xfc\xff\xfc\xffOB\x00\x00\x04\x00\x00\x00PAD!")
    ds = pydicom.dcmread(path)
    ds.add_new(0x7FE10010, "LO", "after pixels")  # a private element after the pixel data
    ds.save_as(tmp_path / "in" / "ct2.dcm")
    report = run(tmp_path / "in", tmp_path / "out", _settings())
    assert {f["status"] for f in report.files} == {"ok"}
    # the same SOP Instance UID twice: both kept, the second under a numbered name
    assert "a duplicate" in report.files[1]["reason"]
    assert report.files[1]["output"] == report.files[0]["output"].replace(".dcm", ".2.dcm")
    for record in report.files:
        data = (tmp_path / "out" / record["output"]).read_bytes()
        assert b"PAD!" not in data and b"after pixels" not in data
        written = pydicom.dcmread(tmp_path / "out" / record["output"])
        assert written.PixelData == pydicom.dcmread(path).PixelData


@pytest.mark.parametrize("cut", [300, 700, 1500, 5000, 20000, 39000])
def test_a_file_cut_anywhere_is_refused(tmp_path, cut):
    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    assert cut < len(data)
    path = tmp_path / "in" / "cut.dcm"
    path.parent.mkdir()
    path.write_bytes(data[:cut])
    record = run(path, tmp_path / "out", _settings()).files[0]
    assert record["status"] == "failed", record
    assert any(word in record["reason"] for word in ("truncated", "Transfer Syntax", "not a")), (
        record
    )
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_output_paths_hold_no_source_name(tmp_path):
    """Issue 11 item 1: folders and files named after a patient come out under their
    de-identified study, series and instance UIDs; the report names them by a keyed
    reference, the names only in what ``sources()`` gives back."""
    src = tmp_path / "in"
    _copy("CT_small.dcm", src / "DOE^JANE_MRN0012345" / "ACC998877" / "IM0001.dcm")
    _copy("MR_small.dcm", src / "Smith John 1970-01-01" / "CT HEAD" / "IM0002.dcm")
    report = run(src, tmp_path / "out", _settings())
    assert report.summary["ok"] == 2
    written = [p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")]
    for name in ("DOE", "JANE", "0012345", "998877", "Smith", "1970", "HEAD", "IM000"):
        assert not [w for w in written if name in w], name
        assert name not in repr(report.as_json())
    for record in report.files:
        assert record["output"].count("/") == 2 and record["output"].startswith("2.25.")
    ds = pydicom.dcmread(tmp_path / "out" / report.files[0]["output"])
    assert report.files[0]["output"] == (
        f"{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}.dcm"
    )
    assert set(report.sources().values()) == {
        "DOE^JANE_MRN0012345/ACC998877/IM0001.dcm",
        "Smith John 1970-01-01/CT HEAD/IM0002.dcm",
    }


def test_a_run_again_into_the_same_folder_replaces_its_outputs(tmp_path):
    path = _copy("CT_small.dcm", tmp_path / "in" / "ct.dcm")
    first = run(path.parent, tmp_path / "out", _settings()).files[0]["output"]
    second = run(path.parent, tmp_path / "out", _settings()).files[0]
    assert second["output"] == first and "duplicate" not in second["reason"]
    assert len([p for p in (tmp_path / "out").rglob("*") if p.is_file()]) == 1


@pytest.mark.parametrize("fails", [False, True])
def test_validation_is_quiet_for_the_run_only(messy, tmp_path, monkeypatch, fails):
    """pydicom's modes are process-wide: the run quiets them (its messages would print source
    values) and gives back the ones in force before, even when the run stops half-way."""
    settings = pydicom.config.settings
    monkeypatch.setattr(settings, "reading_validation_mode", pydicom.config.WARN)
    monkeypatch.setattr(settings, "writing_validation_mode", pydicom.config.RAISE)
    seen = []

    def on_file(_record: dict[str, object]) -> None:
        seen.append((settings.reading_validation_mode, settings.writing_validation_mode))
        if fails:
            raise RuntimeError("the caller stopped the run")

    if fails:
        with pytest.raises(RuntimeError):
            run(messy, tmp_path / "out", _settings(), on_file=on_file)
    else:
        run(messy, tmp_path / "out", _settings(), on_file=on_file)
    assert seen and set(seen) == {(pydicom.config.IGNORE, pydicom.config.IGNORE)}
    assert settings.reading_validation_mode == pydicom.config.WARN
    assert settings.writing_validation_mode == pydicom.config.RAISE
    with quiet_validation():
        assert settings.writing_validation_mode == pydicom.config.IGNORE
    assert settings.writing_validation_mode == pydicom.config.RAISE
