"""Reports from the RIS over HL7 v2: what an ORU^R01 or MDM^T02 says, read with hl7apy,
and the acknowledgement that answers it (docs/gateway.md, "Reports over MLLP").

* ``read_header`` parses a message (hl7apy, tolerant) and takes what the answer needs from its
  MSH: the control id, the message type, the version, the sending application^facility.
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
from typing import Any

from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from radgov.exams.release.hl7 import SENDING_APPLICATION

TAKEN = {("ORU", "R01"), ("MDM", "T02")}
TEXT_TYPES = ("TX", "FT", "ST")
RESULT_STATUSES = {"F": False, "C": True}  # OBR-25: final, corrected (an amendment)
DOCUMENT_FINAL = ("AU", "LA")  # TXA-17: authenticated, legally authenticated
ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\", ".br": "\n", ".sp": "\n"}
# hl7apy gives formatting commands (\.br\) back with their backslashes escaped (\E\.br\E\)
REESCAPED = re.compile(r"\\E\\(\.[a-z]{2}[+-]?\d*)\\E\\")


class Unusable(ValueError):
    """A message radgov cannot take; the text names the segment and field, ``code`` is the
    HL7 error condition (table 0357) its answer's ERR-3 gives."""

    def __init__(self, text: str, code: str = "101^Required field missing") -> None:
        super().__init__(text)
        self.code = code


NOT_TAKEN = "103^Table value not found"


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
    parts = REESCAPED.sub(r"\\\1\\", text).split("\\")
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        if i + 1 < len(parts):
            out.append(ESCAPES.get(parts[i], "") + parts[i + 1])
        else:  # an unpaired backslash: kept as sent
            out.append("\\" + parts[i])
    return "".join(out)


def _field(segment: Any, name: str) -> str:
    return str(getattr(segment, name).to_er7() or "").strip()


def read_header(raw: bytes) -> tuple[Message, Header]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # HL7's 8-bit default (MSH-18 empty)
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    if not text.startswith("MSH"):
        raise Unusable("MSH: the message does not start with an MSH segment")
    try:
        message = parse_message(text, find_groups=False)
        msh = message.msh
        kind = _field(msh, "msh_9").split("^")
        header = Header(
            control_id=_field(msh, "msh_10"),
            message_type="^".join(kind[:2]),
            version=_field(msh, "msh_12"),
            application=f"{_first(_field(msh, 'msh_3'))}^{_first(_field(msh, 'msh_4'))}",
            sender=(_field(msh, "msh_3"), _field(msh, "msh_4")),
            processing_id=_first(_field(msh, "msh_11")) or "P",
        )
    except HL7apyException as exc:
        raise Unusable(
            f"MSH: not a readable HL7 v2 message ({type(exc).__name__})", "102^Data type error"
        ) from None
    if not header.control_id:
        raise Unusable("MSH-10: the message control id is empty")
    return message, header


def read_reports(message: Message, header: Header) -> list[ReportIn]:
    kind = tuple(header.message_type.split("^"))
    if kind not in TAKEN:
        raise Unusable(
            f"MSH-9: message type {header.message_type[:20]!r} is not taken (ORU^R01, MDM^T02)",
            "200^Unsupported message type",
        )
    segments = list(message.children)
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


def _text(segments: list[Any], where: str) -> str:
    """The report's text: OBX-5 of the TX, FT and ST lines, joined; refused when none."""
    lines = []
    for obx in segments:
        if obx.name == "OBX" and _field(obx, "obx_2") in TEXT_TYPES:
            lines.extend(unescape(str(rep.to_er7() or "")) for rep in obx.obx_5)
    text = "\n".join(lines).strip()
    if not text:
        raise Unusable(f"{where}: no OBX of value type TX, FT or ST holds the report text")
    return text


def _status(segment: Any, name: str, taken: Container[str], what: str, only: str) -> str:
    """The segment's status field; refused (not taken) when it is not one of ``taken``."""
    status = _first(_field(segment, name))
    if status not in taken:
        raise Unusable(f"{what} {status[:2]!r} is not taken: only {only}", NOT_TAKEN)
    return status


def _accession(obr: Any) -> str:
    return unescape(_first(_field(obr, "obr_3")) or _first(_field(obr, "obr_2")))


def _oru(segments: list[Any]) -> list[ReportIn]:
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
            "obr_25",
            RESULT_STATUSES,
            f"OBR-25{which}: result status",
            "final (F) and corrected (C) reports",
        )
        text = _text(segments[start + 1 : end], f"OBX-5{which}")
        reports.append(ReportIn(accession, text, RESULT_STATUSES[status]))
    return reports


def _mdm(segments: list[Any]) -> ReportIn:
    txa = next((s for s in segments if s.name == "TXA"), None)
    if txa is None:
        raise Unusable("TXA: the MDM^T02 has no TXA segment")
    obr = next((s for s in segments if s.name == "OBR"), None)
    accession = _accession(obr) if obr is not None else ""
    accession = accession or unescape(
        _first(_field(txa, "txa_15")) or _first(_field(txa, "txa_14"))
    )
    if not accession:
        raise Unusable("TXA-15: no accession (nor in TXA-14, OBR-3 or OBR-2)")
    _status(
        txa,
        "txa_17",
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
