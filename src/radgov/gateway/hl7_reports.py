"""Reports from the RIS over HL7 v2: what an ORU^R01 or MDM^T02 says, and the
acknowledgement that answers it (docs/gateway.md, "Reports over MLLP").

* ``read_header`` splits a message into segments and fields (ER7, the standard separators
  ``|^~\\&`` only) and takes what the answer needs from its MSH: the control id, the message
  type, the version, the sending application^facility.  It is strict about the MSH, so that
  an answer never echoes a field of a message whose header is broken (the fields after a lost
  segment break are the next segment's, which may identify a patient).  It does not use
  hl7apy: parsing with it cost about 20 ms a message, the whole budget of a listener that
  takes 1,000 a second; the reports read only a handful of fields.
* ``read_reports`` takes the reports: for an ORU^R01 one per accession, from each OBR (the
  accession in OBR-3, else OBR-2; the status in OBR-25: F final, C corrected) and the text of
  the OBX lines of value type TX, FT or ST after it; for an MDM^T02 one report, the accession
  from OBR-3/OBR-2 or TXA-15/TXA-14, final when TXA-17 says authenticated (AU, LA).
* ``Unusable``: a message that holds no usable report; its text names the segment and field
  (never a value from the message, which may identify a patient).
* ``ack`` builds the answer: AA, AE (with the reason) or AR.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime

from radgov.exams.release.hl7 import SENDING_APPLICATION

TAKEN = {("ORU", "R01"), ("MDM", "T02")}
TEXT_TYPES = ("TX", "FT", "ST")
RESULT_STATUSES = {"F": False, "C": True}  # OBR-25: final, corrected (an amendment)
DOCUMENT_FINAL = ("AU", "LA")  # TXA-17: authenticated, legally authenticated
ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\", ".br": "\n", ".sp": "\n"}
ENCODING = ("^~\\&", "^~\\&#")  # MSH-2, with v2.7's truncation character or without
SEGMENT = re.compile(r"[A-Z][A-Z0-9]{2}(\|.*)?\Z", re.DOTALL)
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # no control characters but the tab
MESSAGE_TYPE = re.compile(r"[A-Z0-9]{3}(\^[A-Z0-9]{3})?")
VERSION = re.compile(r"2\.[1-8](\.\d{1,2})?")
PROCESSING = ("D", "P", "T")  # table 0103: debugging, production, training
MAX_CONTROL_ID = 199
MAX_SENDER = 227  # an HD's length: the answer echoes MSH-3 and MSH-4


class Unusable(ValueError):
    """A message radgov cannot take; the text names the segment and field, ``code`` is the
    HL7 error condition (table 0357) its answer's ERR-3 gives."""

    def __init__(self, text: str, code: str = "101^Required field missing") -> None:
        super().__init__(text)
        self.code = code


NOT_TAKEN = "103^Table value not found"
DATA_TYPE = "102^Data type error"


@dataclass(frozen=True)
class Segment:
    """One segment as ER7 text: ``field(n)`` is field n (MSH-1 being the separator)."""

    name: str
    fields: tuple[str, ...]

    def field(self, n: int) -> str:
        return self.fields[n].strip() if n < len(self.fields) else ""


@dataclass(frozen=True)
class Header:
    control_id: str
    message_type: str  # e.g. ORU^R01
    version: str
    application: str  # MSH-3^MSH-4, as an MLLP peer is registered
    sender: tuple[str, str]  # MSH-3, MSH-4 as sent (ER7), echoed in the answer's MSH-5, MSH-6
    processing_id: str


@dataclass(frozen=True)
class ReportIn:
    accession_number: str
    text: str
    corrected: bool


def _first(value: str) -> str:
    """The first component of an ER7 field."""
    return value.split("^", 1)[0].strip()


def unescape(text: str) -> str:
    """HL7 escape sequences (\\F\\, \\S\\, \\T\\, \\R\\, \\E\\, \\.br\\) back to characters."""
    parts = text.split("\\")
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        if i + 1 < len(parts):
            out.append(ESCAPES.get(parts[i], "") + parts[i + 1])
        else:  # an unpaired backslash: kept as sent
            out.append("\\" + parts[i])
    return "".join(out)


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # HL7's 8-bit default (MSH-18 empty)
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")


def segments_of(text: str) -> list[Segment]:
    """The segments of an ER7 message that starts with its MSH; refused naming the first
    segment that is not one, or the MSH's separators when they are not the standard ones."""
    if not text.startswith("MSH"):
        raise Unusable("MSH: the message does not start with an MSH segment")
    lines = [line for line in text.split("\r") if line]
    msh = lines[0].split("|")
    if len(msh) < 2 or msh[0] != "MSH" or msh[1] not in ENCODING:
        raise Unusable(
            "MSH-1, MSH-2: the separators must be the standard |^~\\& (no other encoding "
            "characters are read)",
            DATA_TYPE,
        )
    segments = [Segment("MSH", ("MSH", "|", *msh[1:]))]
    for n, line in enumerate(lines[1:], start=2):
        if not SEGMENT.match(line):
            raise Unusable(
                f"segment {n}: not an HL7 segment (a three-character name in capitals, then |)",
                "100^Segment sequence error",
            )
        segments.append(Segment(line[:3], tuple(line.split("|"))))
    for n, line in enumerate(lines, start=1):  # a field holds one only if its line does
        if CONTROL.search(line):
            raise Unusable(
                f"{segments[n - 1].name} (segment {n}): holds control characters (0x00-0x1F), "
                "which HL7 text may not",
                DATA_TYPE,
            )
    return segments


def read_header(raw: bytes) -> tuple[list[Segment], Header]:
    segments = segments_of(_decode(raw))
    msh = segments[0]
    kind = msh.field(9).split("^")
    if not MESSAGE_TYPE.fullmatch("^".join(kind[:2])):
        raise Unusable("MSH-9: the message type is not a code like ORU^R01", DATA_TYPE)
    control_id = msh.field(10)
    if not control_id:
        raise Unusable("MSH-10: the message control id is empty")
    if len(control_id) > MAX_CONTROL_ID:
        raise Unusable(f"MSH-10: the message control id is longer than {MAX_CONTROL_ID}", DATA_TYPE)
    processing_id = _first(msh.field(11)) or "P"
    if processing_id not in PROCESSING:
        raise Unusable("MSH-11: the processing id is not D, P or T (table 0103)", NOT_TAKEN)
    version = _first(msh.field(12))
    if not VERSION.fullmatch(version):
        raise Unusable(
            "MSH-12: the version is not one of HL7 v2.1 to v2.8", "203^Unsupported version id"
        )
    sender = (msh.field(3), msh.field(4))
    if any(len(part) > MAX_SENDER for part in sender):
        raise Unusable(f"MSH-3, MSH-4: longer than {MAX_SENDER} characters", DATA_TYPE)
    header = Header(
        control_id=control_id,
        message_type="^".join(kind[:2]),
        version=version,
        application=f"{_first(sender[0])}^{_first(sender[1])}",
        sender=sender,
        processing_id=processing_id,
    )
    return segments, header


def read_reports(segments: list[Segment], header: Header) -> list[ReportIn]:
    kind = tuple(header.message_type.split("^"))
    if kind not in TAKEN:
        raise Unusable(
            "MSH-9: the message type is not taken (only ORU^R01 and MDM^T02)",
            "200^Unsupported message type",
        )
    reports = _oru(segments) if kind == ("ORU", "R01") else [_mdm(segments)]
    merged: dict[str, ReportIn] = {}
    for report in reports:  # two OBRs of one accession: one report
        before = merged.get(report.accession_number)
        if before is not None:
            report = ReportIn(
                report.accession_number,
                f"{before.text}\n{report.text}",
                before.corrected or report.corrected,
            )
        merged[report.accession_number] = report
    return list(merged.values())


def _text(segments: list[Segment], where: str) -> str:
    """The report's text: OBX-5 of the TX, FT and ST lines, joined; refused when none."""
    lines: list[str] = []
    for obx in segments:
        if obx.name == "OBX" and obx.field(2) in TEXT_TYPES:
            lines.extend(unescape(rep) for rep in obx.field(5).split("~"))
    text = "\n".join(lines).strip()
    if not text:
        raise Unusable(f"{where}: no OBX of value type TX, FT or ST holds the report text")
    return text


def _status(segment: Segment, n: int, taken: Container[str], what: str, only: str) -> str:
    """The segment's status field; refused (not taken) when it is not one of ``taken``."""
    status = _first(segment.field(n))
    if status not in taken:
        raise Unusable(f"{what} is not taken: only {only}", NOT_TAKEN)
    return status


def _accession(obr: Segment) -> str:
    return unescape(_first(obr.field(3)) or _first(obr.field(2)))


def _oru(segments: list[Segment]) -> list[ReportIn]:
    starts = [i for i, s in enumerate(segments) if s.name == "OBR"]
    if not starts:
        raise Unusable("OBR: the ORU^R01 has no OBR segment (no report)")
    reports = []
    for n, start in enumerate(starts, start=1):
        end = starts[n] if n < len(starts) else len(segments)
        obr = segments[start]
        which = f" (OBR {n})" if len(starts) > 1 else ""
        accession = _accession(obr)
        if not accession:
            raise Unusable(f"OBR-3{which}: no accession (filler order number; OBR-2 is empty too)")
        status = _status(
            obr,
            25,
            RESULT_STATUSES,
            f"OBR-25{which}: result status",
            "final (F) and corrected (C) reports",
        )
        text = _text(segments[start + 1 : end], f"OBX-5{which}")
        reports.append(ReportIn(accession, text, RESULT_STATUSES[status]))
    return reports


def _mdm(segments: list[Segment]) -> ReportIn:
    txa = next((s for s in segments if s.name == "TXA"), None)
    if txa is None:
        raise Unusable("TXA: the MDM^T02 has no TXA segment")
    obr = next((s for s in segments if s.name == "OBR"), None)
    accession = _accession(obr) if obr is not None else ""
    accession = accession or unescape(_first(txa.field(15)) or _first(txa.field(14)))
    if not accession:
        raise Unusable("TXA-15: no accession (nor in TXA-14, OBR-3 or OBR-2)")
    _status(
        txa,
        17,
        DOCUMENT_FINAL,
        "TXA-17: completion status",
        "authenticated (AU, LA) documents",
    )
    return ReportIn(accession, _text(segments, "OBX-5"), corrected=False)


def _escape(text: str) -> str:
    out = text.replace("\\", "\\E\\")
    for char, esc in (("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        out = out.replace(char, esc)
    return " ".join(out.split())


def ack(header: Header | None, code: str, text: str = "", error: str = "") -> bytes:
    """The acknowledgement (original mode): MSH, MSA (code, the control id, the text) and,
    for a refusal, ERR (``error``: the condition of table 0357, the whole text in ERR-8)."""
    sender = header.sender if header else ("", "")
    trigger = header.message_type.split("^")[-1] if header else ""
    segments = [
        "|".join(
            (
                "MSH",
                "^~\\&",
                SENDING_APPLICATION,
                SENDING_APPLICATION,
                *sender,
                datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
                "",
                f"ACK^{trigger}^ACK" if trigger else "ACK",
                uuid.uuid4().hex[:20],
                header.processing_id if header else "P",
                (header.version if header else "") or "2.5.1",
            )
        ),
        "|".join(("MSA", code, header.control_id if header else "", _escape(text)[:80])),
    ]
    if code != "AA":
        condition = error or "207^Application internal error"
        segments.append(f"ERR|||{condition}^HL70357|E||||{_escape(text)[:250]}")
    return ("\r".join(segments) + "\r").encode("utf-8")
