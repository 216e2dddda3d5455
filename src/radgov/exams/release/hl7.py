"""A release as an HL7 v2.5.1 ORU^R01, built and validated with hl7apy (strict).

One OBR for the AI result (filler order number: the accession), one OBX per finding
(coded, present or absent), the score and the reviewer's statement (NTE).  Result status
``F`` (final), or ``C`` (correction) for a withdrawal.  The message control id is the
caller's: a retry of the same delivery sends the same id.  ``build_test_message`` is the
NMQ^N01 that "test connection" sends to the RIS."""

from __future__ import annotations

import datetime as dt

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_message

from radgov.dicom.sr import LOCAL_SCHEME
from radgov.exams.release.content import Released

SENDING_APPLICATION = "RADGOV"


def _escape(text: str) -> str:
    """HL7 escape sequences for the delimiters, so free text cannot break the structure."""
    out = text.replace("\\", "\\E\\")
    for char, esc in (("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        out = out.replace(char, esc)
    return " ".join(out.split())


def _ce(code: str, text: str, scheme: str) -> str:
    return f"{_escape(code)}^{_escape(text)}^{_escape(scheme)}"


def _message(kind: str, control_id: str, at: dt.datetime, receiving: str) -> Message:
    """A strict v2.5.1 message of ``kind`` (MSH-9, e.g. ``ORU^R01^ORU_R01``) with its header."""
    msg = Message(kind.split("^")[-1], version="2.5.1", validation_level=VALIDATION_LEVEL.STRICT)
    msg.msh.msh_3 = SENDING_APPLICATION
    msg.msh.msh_5 = _escape(receiving)
    msg.msh.msh_7 = f"{at:%Y%m%d%H%M%S}"
    msg.msh.msh_9 = kind
    msg.msh.msh_10 = control_id
    msg.msh.msh_11 = "P"
    msg.msh.msh_12 = "2.5.1"
    return msg


def build_oru(released: Released, *, control_id: str, receiving: str = "RIS") -> str:
    """The ORU^R01 as ER7 text (segments separated by carriage returns)."""
    status = "C" if released.correction else "F"
    msg = _message("ORU^R01^ORU_R01", control_id, released.released_at, receiving)
    msg.msh.msh_4 = _escape(released.deployment_site)[:20] or SENDING_APPLICATION
    result = msg.add_group("ORU_R01_PATIENT_RESULT")
    patient = result.add_group("ORU_R01_PATIENT")
    pid = _escape(released.study.patient_id)
    if released.patient_issuer:
        pid += f"^^^{_escape(released.patient_issuer)}"
    patient.pid.pid_3 = pid
    patient.pid.pid_5 = '""'  # HL7 null: radgov keeps no names; the RIS matches MRN, accession
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    order.obr.obr_1 = "1"
    order.obr.obr_3 = _escape(released.study.accession_number)
    order.obr.obr_4 = _ce("AIRESULT", f"{released.algorithm.name} result", LOCAL_SCHEME)
    order.obr.obr_22 = f"{released.released_at:%Y%m%d%H%M%S}"
    order.obr.obr_25 = status
    n = 0
    for finding in released.findings:
        n += 1
        obs = order.add_group("ORU_R01_OBSERVATION")
        code = finding.get("code") or {}
        obs.obx.obx_1 = str(n)
        obs.obx.obx_2 = "CE"
        obs.obx.obx_3 = _ce(
            str(code.get("value") or finding["label"])[:20],
            str(code.get("meaning") or finding["label"]),
            str(code.get("scheme") or LOCAL_SCHEME),
        )
        present = finding.get("present")
        value = {True: ("373066001", "Yes"), False: ("373067005", "No")}.get(present)
        obs.obx.obx_5 = _ce(value[0], value[1], "SCT") if value else _ce("UNK", "Unknown", "NULLFL")
        obs.obx.obx_11 = status
    if released.score is not None:
        n += 1
        obs = order.add_group("ORU_R01_OBSERVATION")
        obs.obx.obx_1 = str(n)
        obs.obx.obx_2 = "NM"
        obs.obx.obx_3 = _ce("AISCORE", "AI score", LOCAL_SCHEME)
        obs.obx.obx_5 = f"{released.score:g}"
        obs.obx.obx_11 = status
    note = order.add_segment("NTE")
    note.nte_1 = "1"
    note.nte_3 = _escape(released.statement)
    msg.validate()
    return str(msg.to_er7())


def build_test_message(*, control_id: str, at: dt.datetime, receiving: str = "RIS") -> str:
    """An NMQ^N01 (network management query: the system clock), for "test connection": it
    asks the RIS for nothing clinical, and any acknowledgement proves the round trip."""
    msg = _message("NMQ^N01^NMQ_N01", control_id, at, receiving)
    msg.add_group("NMQ_N01_CLOCK_AND_STATISTICS").nck.nck_1 = f"{at:%Y%m%d%H%M%S}"
    msg.validate()
    return str(msg.to_er7())


def read_oru(text: str) -> Message:
    """Parse (strictly) what ``build_oru`` made, or what a peer sent."""
    return parse_message(
        text.replace("\n", "\r"), validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
    )
