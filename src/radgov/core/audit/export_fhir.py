"""Audit entries as FHIR R4 AuditEvent resources, one JSON resource per line (NDJSON,
the FHIR bulk-data format), so an export of any size streams.

Each resource is built and validated with ``fhir.resources.R4B``: ``type`` is the
DICOM event code (system DCM), ``subtype`` the radgov action, ``action`` C/R/U/D/E,
``outcome`` 0/4/8, one requestor ``agent`` (user name, id, role and network
address), ``source.observer`` "radgov", and an ``entity`` for the object (type
and id) plus one carrying the chain position and hash for outside checking.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import IO

from fhir.resources.R4B.auditevent import AuditEvent

from radgov.core.audit.chain import format_timestamp
from radgov.core.audit.codes import EventCode, action_code, outcome_code
from radgov.core.models import AuditEntry

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACTION_SYSTEM = "urn:radgov:audit-action"
OBJECT_SYSTEM = "urn:radgov:object"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"


def network_type(address: str) -> str:
    """FHIR/DICOM network access point type: 2 = IP address, 1 = machine name."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return "1"
    return "2"


def audit_event(entry: AuditEntry) -> AuditEvent:
    agent: dict = {"requestor": True, "who": {"display": entry.actor_name or "system"}}
    if entry.actor_id is not None:
        agent["who"]["identifier"] = {"system": "urn:radgov:user", "value": str(entry.actor_id)}
    if entry.actor_role:
        agent["role"] = [{"text": entry.actor_role}]
    if entry.client_address:
        agent["network"] = {
            "address": entry.client_address,
            "type": network_type(entry.client_address),
        }
    entities = [
        {
            "what": {"identifier": {"system": "urn:radgov:audit-entry", "value": entry.position}},
            "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            "detail": [
                {"type": "entry_hash", "valueString": entry.entry_hash},
                {"type": "prev_hash", "valueString": entry.prev_hash},
                {"type": "request_id", "valueString": entry.request_id or "-"},
                {"type": "channel", "valueString": entry.channel or "-"},
            ],
        }
    ]
    if entry.object_type:
        entities.insert(
            0,
            {
                "what": {
                    "type": entry.object_type,
                    "identifier": {
                        "system": f"{OBJECT_SYSTEM}:{entry.object_type}",
                        "value": entry.object_id or "-",
                    },
                },
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            },
        )
    code = EventCode(entry.event_code)
    return AuditEvent.model_validate(
        {
            "id": f"radgov-audit-{entry.position}",
            "type": {"system": DCM, "code": code.value, "display": code.meaning},
            "subtype": [{"system": ACTION_SYSTEM, "code": entry.action}],
            "action": action_code(entry.action),
            "recorded": format_timestamp(entry.timestamp),
            "outcome": outcome_code(entry.outcome),
            "outcomeDesc": entry.outcome,
            "agent": [agent],
            "source": {
                "site": "radgov",
                "observer": {"display": "radgov"},
                "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
            },
            "entity": entities,
        }
    )


def write_ndjson(entries: Iterable[AuditEntry], out: IO[str]) -> int:
    count = 0
    for entry in entries:
        out.write(audit_event(entry).model_dump_json())
        out.write("\n")
        count += 1
    return count
