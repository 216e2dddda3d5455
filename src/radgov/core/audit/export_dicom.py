"""Audit entries as DICOM audit messages (PS3.15 A.5.1, the RFC 3881 schema shape).

An export is one XML document whose root ``AuditMessages`` (radgov's wrapper, not
part of DICOM) holds one standard ``AuditMessage`` per entry, each with
``EventIdentification`` (``EventID`` csd-code/codeSystemName="DCM"/originalText,
``EventActionCode``, ``EventDateTime``, ``EventOutcomeIndicator``),
an ``ActiveParticipant`` (``UserID``, ``UserName``, ``UserIsRequestor``,
``NetworkAccessPointID``), ``AuditSourceIdentification`` and a
``ParticipantObjectIdentification`` for the object.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import IO
from xml.etree import ElementTree as ET

from radgov.core.audit.chain import format_timestamp
from radgov.core.audit.codes import EventCode, action_code, outcome_code
from radgov.core.audit.export_fhir import network_type
from radgov.core.models import AuditEntry


def _coded(parent: ET.Element, tag: str, code: str, system: str, text: str) -> ET.Element:
    return ET.SubElement(
        parent, tag, {"csd-code": code, "codeSystemName": system, "originalText": text}
    )


def audit_message(entry: AuditEntry) -> ET.Element:
    msg = ET.Element("AuditMessage")
    event = ET.SubElement(
        msg,
        "EventIdentification",
        {
            "EventActionCode": action_code(entry.action),
            "EventDateTime": format_timestamp(entry.timestamp),
            "EventOutcomeIndicator": outcome_code(entry.outcome),
        },
    )
    code = EventCode(entry.event_code)
    _coded(event, "EventID", code.value, "DCM", code.meaning)
    _coded(event, "EventTypeCode", entry.action, "radgov", entry.action.replace("_", " "))
    participant = {
        "UserID": str(entry.actor_id)
        if entry.actor_id is not None
        else (entry.actor_name or "system"),
        "UserName": entry.actor_name or "system",
        "UserIsRequestor": "true",
    }
    if entry.client_address:
        participant["NetworkAccessPointID"] = entry.client_address
        participant["NetworkAccessPointTypeCode"] = network_type(entry.client_address)
    active = ET.SubElement(msg, "ActiveParticipant", participant)
    if entry.actor_role:
        _coded(active, "RoleIDCode", entry.actor_role, "radgov", entry.actor_role.replace("_", " "))
    source = ET.SubElement(msg, "AuditSourceIdentification", {"AuditSourceID": "radgov"})
    _coded(source, "AuditSourceTypeCode", "4", "DCM", "Application Server Process")
    if entry.object_type:
        obj = ET.SubElement(
            msg,
            "ParticipantObjectIdentification",
            {
                "ParticipantObjectID": entry.object_id or "-",
                "ParticipantObjectTypeCode": "2",  # system object
            },
        )
        _coded(obj, "ParticipantObjectIDTypeCode", entry.object_type, "radgov", entry.object_type)
        chain = ET.SubElement(obj, "ParticipantObjectDetail", {"type": "radgov-audit-entry"})
        chain.set(
            "value",
            base64.b64encode(f"{entry.position}:{entry.entry_hash}".encode("ascii")).decode(
                "ascii"
            ),
        )
    return msg


def write_xml(entries: Iterable[AuditEntry], out: IO[str]) -> int:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<AuditMessages>\n')
    count = 0
    for entry in entries:
        out.write(ET.tostring(audit_message(entry), encoding="unicode"))
        out.write("\n")
        count += 1
    out.write("</AuditMessages>\n")
    return count
