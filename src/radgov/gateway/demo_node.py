"""A SIMULATED model node, for the demo practice and the tests.  It is not a model and
computes nothing of clinical meaning.

It plays a vendor's DICOM node: it accepts a study by C-STORE and, when the association is
released, answers each study with an SR sent back to radgov's listener (C-STORE), in the
form ``radgov.gateway.results`` reads.  The score is computed deterministically from the
pixels (the mean grey level over the largest value the bits allow), the confidence from how
many images it saw; an input it cannot use is answered with status REJECTED and the reason.
The same judgement is offered as a local Python model (``judge``), without the network.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ComprehensiveSRStorage, ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.presentation import AllStoragePresentationContexts

from radgov.gateway.local import Answer, Rejection

MAX_SLICE_MM = 5.0  # what this simulated model's "IFU" accepts


def _concept(meaning: str) -> Sequence:
    code = Dataset()
    code.CodeValue = meaning.upper().replace(" ", "_")[:16]
    code.CodingSchemeDesignator = "99RADGOV"
    code.CodeMeaning = meaning
    return Sequence([code])


def _item(kind: str, meaning: str, value: object) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = "CONTAINS", kind
    item.ConceptNameCodeSequence = _concept(meaning)
    if kind == "NUM":
        measured = Dataset()
        measured.NumericValue = f"{float(str(value)):.4f}"
        measured.MeasurementUnitsCodeSequence = _concept("no units")
        item.MeasuredValueSequence = Sequence([measured])
    elif kind == "TEXT":
        item.TextValue = str(value)
    else:
        item.ConceptCodeSequence = _concept(str(value))
    return item


def result_sr(study_uid: str, items: list[Dataset]) -> Dataset:
    """An SR of ``items`` for the study, as the simulated node answers."""
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = ComprehensiveSRStorage, generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.Modality, ds.Manufacturer = "SR", "radgov demo node (SIMULATOR)"
    ds.ValueType, ds.ConceptNameCodeSequence = "CONTAINER", _concept("AI result")
    ds.ContinuityOfContent = "SEPARATE"
    ds.ContentSequence = Sequence(items)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def judge(images: list[Dataset]) -> Answer | Rejection:
    """The simulated model: a score from the pixels, or a rejection with a reason.  Also
    offered as the local Python model ``demo-simulator`` (entry point group radgov.models)."""
    thick = [float(ds.SliceThickness) for ds in images if "SliceThickness" in ds]
    if thick and max(thick) > MAX_SLICE_MM:
        return Rejection(f"slices thicker than {MAX_SLICE_MM:g} mm")
    means = []
    for ds in images:
        if "PixelData" not in ds:
            return Rejection("no pixel data")
        top = float(2 ** int(ds.get("BitsStored", 16)) - 1)
        means.append(float(np.mean(ds.pixel_array)) / top)
    score = round(float(np.mean(means)), 4)
    return Answer(
        score=score,
        confidence=round(1 - 1 / (len(images) + 1), 4),
        call="positive" if score >= 0.5 else "negative",
        findings=("simulated finding",) if score >= 0.5 else (),
        model_version="demo-1.0",
    )


def items_of(answer: Answer | Rejection) -> list[Dataset]:
    """A model's answer as the SR content items ``radgov.gateway.results`` reads."""
    if isinstance(answer, Rejection):
        return [_item("TEXT", "Status", "REJECTED"), _item("TEXT", "Reason", answer.reason)]
    items = [
        _item("NUM", name, value)
        for name, value in (("Score", answer.score), ("Confidence", answer.confidence))
        if value is not None
    ]
    items += [
        _item("TEXT", name, value)
        for name, value in (("Call", answer.call), ("Model version", answer.model_version))
        if value
    ]
    return items + [_item("CODE", "Finding", label) for label in answer.findings]


def score_study(images: list[Dataset]) -> list[Dataset]:
    """The SR content for one study, as the simulated node answers."""
    return items_of(judge(images))


@dataclass
class DemoNode:
    """The simulated node: listens on ``port``, answers to radgov at ``reply_*``."""

    port: int
    reply_port: int
    ae_title: str = "DEMO_AI"
    host: str = "127.0.0.1"
    reply_host: str = "127.0.0.1"
    reply_ae: str = "RADGOV"
    answered: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    server: Any = field(default=None, repr=False)

    def start(self) -> None:
        ae = AE(ae_title=self.ae_title)
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(context.abstract_syntax)
        studies: dict[Any, dict[str, list[Dataset]]] = defaultdict(lambda: defaultdict(list))

        def stored(event: Any) -> int:
            ds = event.dataset
            ds.file_meta = event.file_meta  # the transfer syntax, to read the pixels
            studies[event.assoc][str(ds.StudyInstanceUID)].append(ds)
            return 0x0000

        def released(event: Any) -> None:
            for study_uid, images in studies.pop(event.assoc, {}).items():
                self.reply(result_sr(study_uid, score_study(images)))

        handlers = [(evt.EVT_C_STORE, stored), (evt.EVT_RELEASED, released)]
        self.server = ae.start_server((self.host, self.port), block=False, evt_handlers=handlers)

    def reply(self, answer: Dataset) -> None:
        """Send the SR back to radgov's listener (each answer releases ``answered``)."""
        ae = AE(ae_title=self.ae_title)
        ae.add_requested_context(ComprehensiveSRStorage, ExplicitVRLittleEndian)
        assoc = ae.associate(self.reply_host, self.reply_port, ae_title=self.reply_ae)
        try:
            if assoc.is_established:
                assoc.send_c_store(answer)
        finally:
            if assoc.is_established:
                assoc.release()
            self.answered.release()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None
